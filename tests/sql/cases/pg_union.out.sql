SELECT customer_id AS cust_id FROM entity_customers
UNION ALL
SELECT id FROM legacy.customers
