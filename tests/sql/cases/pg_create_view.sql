CREATE OR REPLACE VIEW analytics.v_customers AS
SELECT cf.cust_id, cf.name FROM analytics.customer_facts cf
