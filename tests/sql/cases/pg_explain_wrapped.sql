EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
SELECT cf.cust_id, cf.region FROM analytics.customer_facts AS cf WHERE cf.region = 'EU';
EXPLAIN ANALYZE VERBOSE SELECT cust_id FROM customer_facts;
explain (select cust_id from customer_facts);
EXPLAIN VERBOSE
  -- the plan of a write
  UPDATE customer_facts SET region = 'US' WHERE cust_id = 7;
EXPLAIN CREATE TABLE analytics.eu_customers AS SELECT cust_id FROM customer_facts WHERE region = 'EU'
