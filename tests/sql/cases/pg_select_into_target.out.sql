SELECT customer_id AS cust_id INTO TEMP staged FROM entity_customers;
SELECT customer_id AS cust_id INTO archive.customer_copy FROM entity_customers;
SELECT * FROM staged;
SELECT * FROM pg_temp.customer_facts
