SELECT region, total FROM customer_facts, orders
