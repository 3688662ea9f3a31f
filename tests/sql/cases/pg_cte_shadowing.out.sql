WITH customer_facts AS (
    SELECT id FROM analytics.entity_customers WHERE active
)
SELECT id FROM customer_facts;
