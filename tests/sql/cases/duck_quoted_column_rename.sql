SELECT "Cust ID", "Order Total" FROM analytics.customer_facts WHERE "cust id" > 0
