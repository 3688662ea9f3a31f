-- header comment
SELECT /* inline */ cf.customer_id AS cust_id   -- trailing
     , cf.name
FROM   analytics.entity_customers   cf   /* alias cf */
WHERE  cf.customer_id>0
