CREATE VIEW v AS SELECT cust_id::text, name FROM customer_facts
