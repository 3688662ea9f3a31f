delete from analytics.customer_facts using staging.deleted d where customer_facts.cust_id = d.id
