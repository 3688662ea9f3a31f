SELECT "cust id", name FROM analytics.customer_facts
