SELECT v.id, c.name
FROM IDENTIFIER($src_table) AS v
JOIN IDENTIFIER(:target) t ON t.id = v.id
JOIN entity_customers c ON c.cust_id = v.id
