WITH source AS (
  SELECT * FROM `proj.analytics.entity_customers`
  WHERE _PARTITIONDATE = CURRENT_DATE()
)
SELECT source.customer_id AS cust_id, name, COUNT(*) AS n
FROM source
GROUP BY customer_id, name
