CREATE VIEW top_customers AS SELECT a.cust_id FROM active_customers a JOIN entity_customers c ON c.customer_id = a.cust_id
