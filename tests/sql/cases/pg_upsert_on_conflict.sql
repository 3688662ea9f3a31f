INSERT INTO customer_facts (cust_id, name) VALUES ($1, $2)
ON CONFLICT (cust_id) DO UPDATE SET name = EXCLUDED.name WHERE customer_facts.cust_id > 0
RETURNING cust_id
