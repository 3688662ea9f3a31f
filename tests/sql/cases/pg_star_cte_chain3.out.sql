CREATE VIEW reporting.customer_totals AS
WITH source AS (
    SELECT * FROM analytics.entity_customers
),
eu AS (
    SELECT * FROM source WHERE region = 'EU'  -- still every column
),
renamed AS (
    SELECT eu.customer_id AS cust_id, name AS customer_name FROM eu
)
SELECT renamed.cust_id, renamed.customer_name, sum(o.total) AS total
FROM renamed JOIN orders o ON o.cust_id = renamed.cust_id
GROUP BY renamed.cust_id, renamed.customer_name
