SELECT cf.customer_id AS cust_id, cf.name
FROM analytics.entity_customers AS cf
WHERE cf.region = 'EU';
