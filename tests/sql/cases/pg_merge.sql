MERGE INTO customer_facts AS t
USING staging.customers AS s ON t.cust_id = s.id
WHEN MATCHED THEN UPDATE SET name = s.name
WHEN NOT MATCHED THEN INSERT (cust_id, name) VALUES (s.id, s.name)
