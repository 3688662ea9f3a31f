SELECT cf.name FROM customer_facts cf WHERE cf.legacy_flag = true
