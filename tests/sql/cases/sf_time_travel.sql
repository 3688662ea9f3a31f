select cust_id from customer_facts at(offset => -60*5)
