INSERT INTO reporting.daily (cust_id, total)
SELECT cf.customer_id AS cust_id, cf.total FROM entity_customers cf
