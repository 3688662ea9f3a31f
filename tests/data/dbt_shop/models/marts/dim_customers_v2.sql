select cust_id as customer_id from {{ ref('stg_customers') }}
