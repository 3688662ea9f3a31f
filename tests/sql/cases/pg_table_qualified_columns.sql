SELECT customer_facts.cust_id, analytics.customer_facts.name
FROM analytics.customer_facts
WHERE customer_facts.region = 'EU'
