select c.cust_id from customer_facts c join orders o on o.cust_id = c.cust_id
