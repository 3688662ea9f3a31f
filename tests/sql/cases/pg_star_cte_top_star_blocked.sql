create view v as
with source as (select * from customer_facts)
select * from source
