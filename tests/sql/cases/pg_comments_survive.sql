-- header comment
SELECT /* inline */ cf.cust_id   -- trailing
     , cf.name
FROM   analytics.customer_facts   cf   /* alias cf */
WHERE  cf.cust_id>0
