CREATE VIEW v AS SELECT * FROM entity_customers
