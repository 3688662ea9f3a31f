CREATE TABLE reporting.snap AS SELECT cust_id, name FROM analytics.customer_facts
