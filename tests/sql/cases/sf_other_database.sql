select cust_id from customer_facts
