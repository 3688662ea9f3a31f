create or replace view reporting.customers_v as
select customer_id AS cust_id, name from entity_customers -- keep
