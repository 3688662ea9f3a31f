with source as (select * from analytics.entity_customers),
renamed as (select customer_id AS cust_id, name from source)
select r.cust_id, r.name from renamed r
