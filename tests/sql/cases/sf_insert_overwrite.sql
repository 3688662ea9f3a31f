insert overwrite into reporting.snapshot (cust_id) select cust_id from customer_facts
