CREATE TEMP TABLE customer_facts AS SELECT 1 AS cust_id;
SELECT cust_id FROM temp.customer_facts;
SELECT cust_id FROM customer_facts;
SELECT cust_id FROM main.customer_facts
