SELECT o.id FROM orders o
WHERE EXISTS (SELECT 1 FROM entity_customers cf WHERE cf.customer_id = o.cust_id)
