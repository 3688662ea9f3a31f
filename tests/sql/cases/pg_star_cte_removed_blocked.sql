with s as (select * from customer_facts)
select s.cust_id, s.legacy_flag from s
