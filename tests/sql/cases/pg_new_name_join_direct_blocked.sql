select customer_id, c.name from customer_facts c join orders o on o.id = c.last_order_id
