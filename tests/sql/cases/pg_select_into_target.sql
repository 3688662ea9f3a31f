SELECT cust_id INTO TEMP staged FROM customer_facts;
SELECT cust_id INTO archive.customer_copy FROM customer_facts;
SELECT * FROM staged;
SELECT * FROM pg_temp.customer_facts
