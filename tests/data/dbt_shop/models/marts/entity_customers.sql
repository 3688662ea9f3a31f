select cust_id as customer_id, email from {{ ref('stg_customers') }}
