SELECT v.a, customer_id AS cust_id FROM (VALUES (1, 2)) AS v(a, b), entity_customers WHERE b = 2
