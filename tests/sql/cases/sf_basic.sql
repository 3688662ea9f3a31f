select cf.cust_id, cf.name from analytics.customer_facts cf where cf.cust_id > 0
