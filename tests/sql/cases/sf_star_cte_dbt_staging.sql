with source as (
    select * from ANALYTICS.CUSTOMER_FACTS
),
renamed as (
    select
        Cust_Id as customer_key,
        name,
        source.region
    from source
)
select * from renamed
