EXPLAIN VERBOSE SELECT s.cust_id FROM analytics.entity_customers s JOIN events e ON e.cust_id = s.cust_id;
DECLARE rs_cursor CURSOR FOR SELECT region FROM entity_customers;
PREPARE rs_plan (int) AS SELECT region FROM entity_customers WHERE cust_id = $1
