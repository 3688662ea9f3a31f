INSERT INTO analytics.customer_facts (cust_id, name) SELECT id, name FROM staging.customers;
INSERT INTO archive.facts_copy SELECT * FROM analytics.customer_facts;
INSERT INTO analytics.customer_facts SELECT * FROM analytics.customer_facts WHERE cust_id < 0;
UPDATE analytics.customer_facts SET name = s.name FROM staging.customers s WHERE s.id = customer_facts.cust_id;
UPDATE analytics.customer_facts SET cust_id = cust_id + 1;
DELETE FROM analytics.customer_facts USING staging.deleted d WHERE d.id = customer_facts.cust_id;
MERGE INTO analytics.customer_facts t USING staging.customers s ON s.id = t.cust_id
  WHEN MATCHED THEN UPDATE SET name = s.name;
TRUNCATE analytics.customer_facts;
CREATE TABLE archive.snap AS SELECT cust_id FROM analytics.customer_facts;
SELECT cust_id INTO archive.snap2 FROM analytics.customer_facts;
COPY analytics.customer_facts FROM '/tmp/in.csv';
COPY analytics.customer_facts TO '/tmp/out.csv';
COPY (SELECT cust_id FROM analytics.customer_facts) TO '/tmp/out2.csv';
CREATE VIEW reporting.v AS SELECT cust_id FROM analytics.customer_facts;
