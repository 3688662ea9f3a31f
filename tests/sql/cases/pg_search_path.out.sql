SELECT customer_id AS cust_id FROM entity_customers
