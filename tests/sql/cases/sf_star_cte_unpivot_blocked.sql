with s as (select * from customer_facts)
select p.col, p.val from s unpivot (val for col in (cust_id, name)) p
