SELECT c.customer_id AS cust_id, o.last_order
FROM entity_customers c
CROSS JOIN LATERAL (SELECT max(ordered_at) AS last_order FROM orders WHERE orders.cust_id = c.customer_id) o
