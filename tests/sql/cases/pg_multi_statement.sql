SELECT * FROM customer_facts;
INSERT INTO audit_log (who) SELECT cust_id FROM analytics.customer_facts;
DELETE FROM customer_facts WHERE cust_id = 1;
