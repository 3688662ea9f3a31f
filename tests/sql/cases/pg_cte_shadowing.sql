WITH customer_facts AS (
    SELECT id FROM analytics.customer_facts WHERE active
)
SELECT id FROM customer_facts;
