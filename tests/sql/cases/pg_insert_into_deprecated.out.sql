INSERT INTO entity_customers (customer_id, name) VALUES (1, 'a')
