SELECT cust_id, name FROM customer_facts WHERE region = 'EU' ORDER BY name
