SELECT cf.cust_id, cf.name
FROM analytics.customer_facts AS cf
WHERE cf.region = 'EU';
