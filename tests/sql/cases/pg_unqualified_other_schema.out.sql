select c.customer_id AS cust_id from core.entity_customers c join orders o on o.cust_id = c.customer_id
