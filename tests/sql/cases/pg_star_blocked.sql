CREATE VIEW v AS SELECT * FROM customer_facts
