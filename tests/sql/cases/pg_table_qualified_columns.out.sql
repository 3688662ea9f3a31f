SELECT entity_customers.customer_id AS cust_id, core.entity_customers.name
FROM core.entity_customers
WHERE entity_customers.region = 'EU'
