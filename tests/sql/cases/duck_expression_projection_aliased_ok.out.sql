SELECT upper(customer_id) AS up, name FROM entity_customers
