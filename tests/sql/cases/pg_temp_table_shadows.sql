-- a script that stages the deprecated table in a temp table of the same name
CREATE TEMP TABLE customer_facts AS
SELECT cust_id, region FROM customer_facts WHERE region = 'EU';
-- from here until the DROP, the unqualified name reads the temp table (pg_temp is searched first)
SELECT c.cust_id FROM customer_facts c;
UPDATE customer_facts SET region = 'eu';
SELECT cf.cust_id FROM analytics.customer_facts cf;
DROP TABLE customer_facts;
SELECT cust_id FROM customer_facts
