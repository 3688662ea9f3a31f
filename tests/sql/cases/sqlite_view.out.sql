CREATE VIEW active_customers AS
SELECT customer_id AS cust_id, name -- shown in the app
FROM entity_customers
WHERE active = 1;
