CREATE OR REPLACE TABLE `proj.analytics.customer_facts` AS SELECT * FROM `proj.staging.customers`;
INSERT INTO `proj.reporting.daily` SELECT cust_id FROM `proj.analytics.customer_facts`;
MERGE `proj.analytics.customer_facts` t USING `proj.staging.customers` s ON s.id = t.cust_id
  WHEN NOT MATCHED THEN INSERT (cust_id) VALUES (s.id);
TRUNCATE TABLE `proj.analytics.customer_facts`;
GRANT `roles/bigquery.dataViewer` ON TABLE `proj.analytics.customer_facts` TO 'user:ana@example.com';
DROP TABLE `proj.analytics.customer_facts`;
LOAD DATA INTO `proj.analytics.customer_facts` FROM FILES (format = 'CSV', uris = ['gs://bucket/facts.csv']);
