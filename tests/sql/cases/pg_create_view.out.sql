CREATE OR REPLACE VIEW analytics.v_customers AS
SELECT cf.customer_id AS cust_id, cf.name FROM analytics.entity_customers cf
