SELECT region AS r, count(*) AS n FROM entity_customers GROUP BY r ORDER BY n
