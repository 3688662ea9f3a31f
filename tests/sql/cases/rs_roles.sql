INSERT INTO analytics.customer_facts SELECT * FROM staging.customers;
DELETE FROM analytics.customer_facts USING staging.deleted WHERE deleted.id = customer_facts.cust_id;
TRUNCATE analytics.customer_facts;
GRANT SELECT ON analytics.customer_facts TO GROUP analysts;
