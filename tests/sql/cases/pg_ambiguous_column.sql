SELECT cust_id, total FROM customer_facts, orders
