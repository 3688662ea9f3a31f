SELECT name FROM customer_facts WHERE cust_id IN ($1,$2)
