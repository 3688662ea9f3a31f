MERGE INTO analytics.customer_facts t
USING (SELECT id, name FROM staging.customers) s
ON t.cust_id = s.id
WHEN MATCHED THEN UPDATE SET t.name = s.name
WHEN NOT MATCHED THEN INSERT (cust_id, name) VALUES (s.id, s.name)
