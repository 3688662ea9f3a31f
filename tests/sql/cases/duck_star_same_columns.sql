SELECT * FROM customer_facts
