with s as (select * from customer_facts)
select columns('cust_.*') from s
