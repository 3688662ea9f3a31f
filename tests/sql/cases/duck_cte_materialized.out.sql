WITH f AS MATERIALIZED (SELECT customer_id AS cust_id FROM entity_customers)
SELECT count(*) FROM f
