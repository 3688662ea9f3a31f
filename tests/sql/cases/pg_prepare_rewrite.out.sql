PREPARE by_region(text, int) AS
  SELECT customer_id AS cust_id FROM core.entity_customers WHERE region = $1 AND customer_id > $2;
PREPARE log_it AS INSERT INTO analytics.audit_log (who) SELECT customer_id AS cust_id FROM core.entity_customers
