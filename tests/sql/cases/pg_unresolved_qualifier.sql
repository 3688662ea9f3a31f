SELECT x.y, cf.name FROM customer_facts cf
