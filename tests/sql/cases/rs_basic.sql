SELECT cf.cust_id FROM analytics.customer_facts cf WHERE cf.cust_id = $1
