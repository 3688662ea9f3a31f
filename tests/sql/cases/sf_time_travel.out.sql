select customer_id AS cust_id from entity_customers at(offset => -60*5)
