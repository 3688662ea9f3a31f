CREATE TABLE tmp_customers AS SELECT customer_id AS cust_id FROM entity_customers
