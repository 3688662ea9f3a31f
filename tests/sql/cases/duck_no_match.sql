SELECT cust_id FROM customers
