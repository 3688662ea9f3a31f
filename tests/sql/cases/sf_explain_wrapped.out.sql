EXPLAIN USING TEXT SELECT c.cust_id FROM analytics.entity_customers c;
EXPLAIN USING JSON
  SELECT region FROM ANALYTICS.ENTITY_CUSTOMERS;
EXPLAIN SELECT 1 FROM db.analytics.entity_customers
