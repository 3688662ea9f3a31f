EXPLAIN ANALYZE SELECT cust_id FROM main.entity_customers WHERE region = 'EU';
EXPLAIN (FORMAT json) SELECT 1 FROM entity_customers;
PREPARE q1 AS SELECT region FROM entity_customers WHERE cust_id = ?;
PREPARE q2 AS SELECT region FROM entity_customers WHERE cust_id = $1
