SELECT upper(cust_id), name FROM customer_facts
