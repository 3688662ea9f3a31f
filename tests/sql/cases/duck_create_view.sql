CREATE VIEW v_eu AS
  SELECT cust_id FROM customer_facts WHERE region = 'EU';
