SELECT c.cust_id FROM read_parquet('customer_facts.parquet') AS p JOIN customer_facts c ON c.cust_id = p.id
