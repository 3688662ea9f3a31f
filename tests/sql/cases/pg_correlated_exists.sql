SELECT o.id FROM orders o
WHERE EXISTS (SELECT 1 FROM customer_facts cf WHERE cf.cust_id = o.cust_id)
