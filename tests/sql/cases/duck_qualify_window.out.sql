SELECT cf.customer_id AS cust_id, row_number() OVER (PARTITION BY cf.region ORDER BY cf.customer_id) AS rn
FROM entity_customers cf
QUALIFY rn = 1
