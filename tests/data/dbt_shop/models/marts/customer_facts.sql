{{ config(alias='cust_facts_tbl', schema='marts') }}
select cust_id, email from {{ ref('stg_customers') }}
