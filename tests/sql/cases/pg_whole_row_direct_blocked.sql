select c.cust_id, row_to_json(c) as doc from analytics.customer_facts c
