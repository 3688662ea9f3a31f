with source as (
    select * from ANALYTICS.ENTITY_CUSTOMERS
),
renamed as (
    select
        CUSTOMER_ID as customer_key,
        name,
        source.region
    from source
)
select * from renamed
