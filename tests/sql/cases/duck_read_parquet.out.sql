SELECT c.customer_id AS cust_id FROM read_parquet('customer_facts.parquet') AS p JOIN entity_customers c ON c.customer_id = p.id
