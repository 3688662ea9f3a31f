select cust_id, region from customer_facts join regions using (region)
