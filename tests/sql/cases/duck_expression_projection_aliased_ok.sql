SELECT upper(cust_id) AS up, name FROM customer_facts
