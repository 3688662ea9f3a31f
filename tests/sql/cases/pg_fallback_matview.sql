CREATE MATERIALIZED VIEW mv_customers AS SELECT cust_id FROM customer_facts WITH NO DATA;
SELECT region FROM customer_facts;
