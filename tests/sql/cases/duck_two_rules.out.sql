SELECT a.customer_id AS cust_id, b.x FROM entity_customers a JOIN sales.orders b ON b.cid = a.customer_id
