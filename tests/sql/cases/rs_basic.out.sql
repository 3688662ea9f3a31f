SELECT cf.customer_id AS cust_id FROM analytics.entity_customers cf WHERE cf.customer_id = $1
