select cust_id from customer_facts where legacy_flag
