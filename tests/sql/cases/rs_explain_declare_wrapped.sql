EXPLAIN VERBOSE SELECT s.cust_id FROM analytics.customer_facts s JOIN events e ON e.cust_id = s.cust_id;
DECLARE rs_cursor CURSOR FOR SELECT region FROM customer_facts;
PREPARE rs_plan (int) AS SELECT region FROM customer_facts WHERE cust_id = $1
