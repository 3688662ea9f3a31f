COPY analytics.customer_facts TO 'facts.parquet' (FORMAT parquet);
COPY analytics.customer_facts FROM 'facts.csv';
CREATE OR REPLACE TABLE analytics.customer_facts AS SELECT * FROM read_parquet('x.parquet');
