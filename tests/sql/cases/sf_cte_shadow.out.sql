with customer_facts as (select 1 as cust_id)
select cust_id from customer_facts
union all
select customer_id AS cust_id from analytics.entity_customers
