ALTER TABLE analytics.customer_facts ADD COLUMN note text;
COMMENT ON TABLE analytics.customer_facts IS 'deprecated: use entity_customers';
GRANT SELECT ON analytics.customer_facts TO analyst;
REVOKE INSERT ON analytics.customer_facts FROM etl;
CREATE INDEX cf_idx ON analytics.customer_facts (cust_id);
DROP TABLE analytics.customer_facts;
CREATE TABLE reporting.orders (id int, cust_id int REFERENCES analytics.customer_facts (cust_id));
