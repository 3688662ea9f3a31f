SELECT x.a
FROM (WITH customer_facts AS (SELECT 1 AS a) SELECT a FROM customer_facts) x
JOIN customer_facts cf ON cf.cust_id = x.a
