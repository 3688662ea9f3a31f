CREATE VIEW v_eu AS
  SELECT customer_id AS cust_id FROM entity_customers WHERE region = 'EU';
