CREATE TABLE tmp_customers AS SELECT cust_id FROM customer_facts
