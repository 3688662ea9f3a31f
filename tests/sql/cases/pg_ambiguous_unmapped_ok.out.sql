SELECT region, total FROM entity_customers, orders
