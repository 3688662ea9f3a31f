SELECT cf.cust_id AS id, cf.cust_id, upper(cf.cust_id::text) FROM customer_facts cf ORDER BY cf.cust_id
