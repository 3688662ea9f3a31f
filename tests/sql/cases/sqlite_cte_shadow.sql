CREATE VIEW v AS
WITH customer_facts AS (SELECT 1 AS cust_id)
SELECT cust_id FROM customer_facts
