SELECT cf.cust_id, cf.name FROM customer_facts cf WHERE cf.cust_id > 0
