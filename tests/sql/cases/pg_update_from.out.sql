UPDATE entity_customers SET customer_id = s.new_id
FROM staging.remap s
WHERE entity_customers.customer_id = s.old_id
