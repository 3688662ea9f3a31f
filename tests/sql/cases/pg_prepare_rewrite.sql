PREPARE by_region(text, int) AS
  SELECT cust_id FROM customer_facts WHERE region = $1 AND cust_id > $2;
PREPARE log_it AS INSERT INTO analytics.audit_log (who) SELECT cust_id FROM customer_facts
