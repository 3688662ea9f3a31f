SELECT cf.cust_id, cf.name
FROM IDENTIFIER('analytics.customer_facts') AS cf
JOIN regions r ON r.id = cf.region_id
