WITH s AS (SELECT * FROM `proj.analytics.customer_facts`)
SELECT s.cust_id, TO_JSON_STRING(s) AS doc FROM s
