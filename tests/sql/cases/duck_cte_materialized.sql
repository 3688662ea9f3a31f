WITH f AS MATERIALIZED (SELECT cust_id FROM customer_facts)
SELECT count(*) FROM f
