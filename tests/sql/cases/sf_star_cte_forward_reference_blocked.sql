with a as (select cust_id from s),
s as (select * from customer_facts)
select a.cust_id from a
