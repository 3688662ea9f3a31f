SELECT total FROM orders NATURAL JOIN customer_facts
