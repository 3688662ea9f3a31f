create or replace view reporting.customers_v as
select cust_id, name from customer_facts -- keep
