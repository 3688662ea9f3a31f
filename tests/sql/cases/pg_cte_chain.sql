WITH a AS (SELECT cust_id, region FROM customer_facts),
     b AS (SELECT cust_id FROM a WHERE region = 'EU')
SELECT b.cust_id, o.total FROM b JOIN orders o ON o.cust_id = b.cust_id
