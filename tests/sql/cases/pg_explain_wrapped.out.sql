EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
SELECT cf.customer_id AS cust_id, cf.region FROM analytics.entity_customers AS cf WHERE cf.region = 'EU';
EXPLAIN ANALYZE VERBOSE SELECT customer_id AS cust_id FROM entity_customers;
explain (select customer_id AS cust_id from entity_customers);
EXPLAIN VERBOSE
  -- the plan of a write
  UPDATE entity_customers SET region = 'US' WHERE customer_id = 7;
EXPLAIN CREATE TABLE analytics.eu_customers AS SELECT customer_id AS cust_id FROM entity_customers WHERE region = 'EU'
