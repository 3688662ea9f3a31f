select cf.payload:customer.id::string as pid, cf.customer_id AS cust_id from entity_customers cf
