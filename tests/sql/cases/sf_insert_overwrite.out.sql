insert overwrite into reporting.snapshot (cust_id) select customer_id AS cust_id from entity_customers
