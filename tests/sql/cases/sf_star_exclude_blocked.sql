select * exclude (legacy_flag) from customer_facts
