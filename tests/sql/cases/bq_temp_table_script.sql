CREATE TEMP TABLE customer_facts AS
SELECT cust_id FROM `proj.analytics.customer_facts`;
SELECT cust_id FROM customer_facts;
SELECT cust_id FROM `proj.analytics.customer_facts`
