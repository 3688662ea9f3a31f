CREATE TEMP TABLE customer_facts AS
SELECT customer_id AS cust_id FROM `proj.analytics.entity_customers`;
SELECT cust_id FROM customer_facts;
SELECT customer_id AS cust_id FROM `proj.analytics.entity_customers`
