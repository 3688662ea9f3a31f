INSERT INTO reporting.daily (cust_id, total)
SELECT cf.cust_id, cf.total FROM customer_facts cf
