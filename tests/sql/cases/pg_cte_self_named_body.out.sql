WITH customer_facts AS (SELECT customer_id AS cust_id FROM entity_customers WHERE active)
SELECT cust_id FROM customer_facts
