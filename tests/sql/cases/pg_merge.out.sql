MERGE INTO entity_customers AS t
USING staging.customers AS s ON t.customer_id = s.id
WHEN MATCHED THEN UPDATE SET name = s.name
WHEN NOT MATCHED THEN INSERT (customer_id, name) VALUES (s.id, s.name)
