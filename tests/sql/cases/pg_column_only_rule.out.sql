SELECT cf.customer_id AS cust_id, cf.name FROM customer_facts cf WHERE cf.customer_id > 0
