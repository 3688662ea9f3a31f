select cust_id from {{ ref('stg_customers') }}
