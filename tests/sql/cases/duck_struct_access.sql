SELECT s.address.city, address.zip FROM customer_facts s
