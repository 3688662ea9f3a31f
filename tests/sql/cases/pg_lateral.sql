SELECT c.cust_id, o.last_order
FROM customer_facts c
CROSS JOIN LATERAL (SELECT max(ordered_at) AS last_order FROM orders WHERE orders.cust_id = c.cust_id) o
