SELECT cf.customer_id AS id, cf.customer_id AS cust_id, upper(cf.customer_id::text) FROM entity_customers cf ORDER BY cf.customer_id
