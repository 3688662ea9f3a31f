SELECT o.id, cf.* FROM orders o JOIN customer_facts cf ON cf.cust_id = o.cust_id
