COPY INTO analytics.customer_facts FROM @raw_stage/customers/;
COPY INTO @export_stage/facts/ FROM analytics.customer_facts;
INSERT OVERWRITE INTO analytics.customer_facts SELECT * FROM staging.customers;
GRANT SELECT ON TABLE analytics.customer_facts TO ROLE analyst;
ALTER TABLE analytics.customer_facts SWAP WITH analytics.customer_facts_new;
DELETE FROM analytics.customer_facts WHERE cust_id IN (SELECT id FROM staging.deleted);
INSERT ALL INTO analytics.customer_facts INTO archive.facts (cust_id) VALUES (id) SELECT id FROM staging.customers;
