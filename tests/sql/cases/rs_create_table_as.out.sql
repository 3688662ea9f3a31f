CREATE TABLE reporting.snap AS SELECT customer_id AS cust_id, name FROM analytics.entity_customers
