select cf.customer_id AS cust_id, cf.name from analytics.entity_customers cf where cf.customer_id > 0
