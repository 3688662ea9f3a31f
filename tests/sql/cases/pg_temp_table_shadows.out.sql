-- a script that stages the deprecated table in a temp table of the same name
CREATE TEMP TABLE customer_facts AS
SELECT customer_id AS cust_id, region FROM entity_customers WHERE region = 'EU';
-- from here until the DROP, the unqualified name reads the temp table (pg_temp is searched first)
SELECT c.cust_id FROM customer_facts c;
UPDATE customer_facts SET region = 'eu';
SELECT cf.customer_id AS cust_id FROM analytics.entity_customers cf;
DROP TABLE customer_facts;
SELECT customer_id AS cust_id FROM entity_customers
