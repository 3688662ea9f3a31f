SELECT cust_id FROM customer_facts
UNION ALL
SELECT id FROM legacy.customers
