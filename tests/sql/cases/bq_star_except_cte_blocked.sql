WITH s AS (SELECT * EXCEPT (region) FROM `proj.analytics.customer_facts`)
SELECT s.cust_id FROM s
