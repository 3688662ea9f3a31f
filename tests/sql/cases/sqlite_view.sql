CREATE VIEW active_customers AS
SELECT cust_id, name -- shown in the app
FROM customer_facts
WHERE active = 1;
