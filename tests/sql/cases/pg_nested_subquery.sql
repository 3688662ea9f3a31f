SELECT *
FROM orders
WHERE cust_id IN (SELECT cf.cust_id FROM customer_facts cf WHERE cf.region IN (SELECT region FROM (SELECT region FROM regions) r))
