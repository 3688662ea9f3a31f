INSERT INTO entity_customers (customer_id, name) VALUES ($1, $2)
ON CONFLICT (customer_id) DO UPDATE SET name = EXCLUDED.name WHERE entity_customers.customer_id > 0
RETURNING customer_id
