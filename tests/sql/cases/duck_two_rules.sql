SELECT a.cust_id, b.x FROM customer_facts a JOIN old_orders b ON b.cid = a.cust_id
