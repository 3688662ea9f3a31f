select columns('cust_.*') from customer_facts
