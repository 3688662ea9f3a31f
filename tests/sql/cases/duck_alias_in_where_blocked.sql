SELECT upper(name) AS cust_id FROM customer_facts WHERE cust_id = 'A'
