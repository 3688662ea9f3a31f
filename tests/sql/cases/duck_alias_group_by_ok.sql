SELECT region AS r, count(*) AS n FROM customer_facts GROUP BY r ORDER BY n
