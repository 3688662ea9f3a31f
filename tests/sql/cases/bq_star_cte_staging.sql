WITH source AS (
  SELECT * FROM `proj.analytics.customer_facts`
  WHERE _PARTITIONDATE = CURRENT_DATE()
)
SELECT source.cust_id, name, COUNT(*) AS n
FROM source
GROUP BY cust_id, name
