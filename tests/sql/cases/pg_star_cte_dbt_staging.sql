with source as (select * from analytics.customer_facts),
renamed as (select cust_id, name from source)
select r.cust_id, r.name from renamed r
