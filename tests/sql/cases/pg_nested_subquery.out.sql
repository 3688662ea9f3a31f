SELECT *
FROM orders
WHERE cust_id IN (SELECT cf.customer_id AS cust_id FROM entity_customers cf WHERE cf.region IN (SELECT region FROM (SELECT region FROM regions) r))
