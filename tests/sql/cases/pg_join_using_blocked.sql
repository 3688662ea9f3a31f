SELECT o.total FROM orders o JOIN customer_facts cf USING (cust_id)
