WITH RECURSIVE customer_facts AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM customer_facts WHERE n < 3)
SELECT n FROM customer_facts
