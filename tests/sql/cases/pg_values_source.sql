SELECT v.a, cust_id FROM (VALUES (1, 2)) AS v(a, b), customer_facts WHERE b = 2
