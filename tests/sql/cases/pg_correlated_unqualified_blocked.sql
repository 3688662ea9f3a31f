SELECT cf.name FROM customer_facts cf
WHERE EXISTS (SELECT 1 FROM orders o WHERE cust_id = 1)
