SELECT cf.cust_id, row_number() OVER (PARTITION BY cf.region ORDER BY cf.cust_id) AS rn
FROM customer_facts cf
QUALIFY rn = 1
