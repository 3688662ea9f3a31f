DELETE FROM orders o USING customer_facts cf WHERE o.cust_id = cf.cust_id AND cf.legacy_flag
