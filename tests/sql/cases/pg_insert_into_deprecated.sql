INSERT INTO customer_facts (cust_id, name) VALUES (1, 'a')
