select cf.payload:customer.id::string as pid, cf.cust_id from customer_facts cf
