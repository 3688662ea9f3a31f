delete from analytics.entity_customers using staging.deleted d where entity_customers.customer_id = d.id
