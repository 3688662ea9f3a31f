SELECT * FROM entity_customers
