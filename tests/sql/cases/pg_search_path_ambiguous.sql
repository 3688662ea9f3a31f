SELECT cust_id FROM customer_facts
