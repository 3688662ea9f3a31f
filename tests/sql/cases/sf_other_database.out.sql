select cust_id from core.analytics.entity_customers
