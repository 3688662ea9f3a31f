INSERT INTO customer_facts SELECT * FROM staging.customers
