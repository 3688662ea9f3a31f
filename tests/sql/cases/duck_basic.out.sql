SELECT customer_id AS cust_id, name FROM entity_customers WHERE region = 'EU' ORDER BY name
