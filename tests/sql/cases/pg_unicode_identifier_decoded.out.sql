-- PostgreSQL Unicode identifiers spell customer_facts without writing it
SELECT customer_id AS cust_id FROM analytics.entity_customers;
SELECT customer_id AS cust_id FROM analytics.entity_customers;
SELECT customer_id AS cust_id FROM analytics.entity_customers;
