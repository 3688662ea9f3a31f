WITH customer_facts AS (SELECT cust_id FROM customer_facts WHERE active)
SELECT cust_id FROM customer_facts
