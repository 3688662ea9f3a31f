EXPLAIN USING TEXT SELECT c.cust_id FROM analytics.customer_facts c;
EXPLAIN USING JSON
  SELECT region FROM ANALYTICS.CUSTOMER_FACTS;
EXPLAIN SELECT 1 FROM db.analytics.customer_facts
