SELECT x.a
FROM (WITH customer_facts AS (SELECT 1 AS a) SELECT a FROM customer_facts) x
JOIN entity_customers cf ON cf.customer_id = x.a
