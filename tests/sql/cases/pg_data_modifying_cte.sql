WITH moved AS (DELETE FROM customer_facts WHERE legacy_flag RETURNING cust_id, name)
INSERT INTO archive.customer_facts_old (cust_id, name) SELECT cust_id, name FROM moved
