EXPLAIN ANALYZE SELECT cust_id FROM main.customer_facts WHERE region = 'EU';
EXPLAIN (FORMAT json) SELECT 1 FROM customer_facts;
PREPARE q1 AS SELECT region FROM customer_facts WHERE cust_id = ?;
PREPARE q2 AS SELECT region FROM customer_facts WHERE cust_id = $1
