CREATE VIEW top_customers AS SELECT a.cust_id FROM active_customers a JOIN customer_facts c ON c.cust_id = a.cust_id
