CREATE TEMPORARY TABLE analytics.customer_facts (cust_id INT);
INSERT INTO analytics.customer_facts SELECT cust_id FROM customer_facts;
SELECT cust_id FROM staging.customer_facts
