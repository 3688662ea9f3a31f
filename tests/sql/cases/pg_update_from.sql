UPDATE customer_facts SET cust_id = s.new_id
FROM staging.remap s
WHERE customer_facts.cust_id = s.old_id
