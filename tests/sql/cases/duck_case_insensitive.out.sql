SELECT 1 FROM entity_customers; SELECT 2 FROM "entity_customers"
