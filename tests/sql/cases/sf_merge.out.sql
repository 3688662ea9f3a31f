MERGE INTO analytics.entity_customers t
USING (SELECT id, name FROM staging.customers) s
ON t.customer_id = s.id
WHEN MATCHED THEN UPDATE SET t.name = s.name
WHEN NOT MATCHED THEN INSERT (customer_id, name) VALUES (s.id, s.name)
