SELECT name FROM entity_customers WHERE customer_id IN ($1,$2)
