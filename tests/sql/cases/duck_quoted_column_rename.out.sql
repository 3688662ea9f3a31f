SELECT "customer_id" AS "Cust ID", "Order Amount" AS "Order Total" FROM analytics.entity_customers WHERE "customer_id" > 0
