SELECT v.id, c.name
FROM IDENTIFIER($src_table) AS v
JOIN IDENTIFIER(:target) t ON t.id = v.id
JOIN customer_facts c ON c.cust_id = v.id
