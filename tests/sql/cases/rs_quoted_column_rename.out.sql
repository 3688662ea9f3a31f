SELECT "customer_id" AS "cust id", "full name" AS name FROM analytics.entity_customers
