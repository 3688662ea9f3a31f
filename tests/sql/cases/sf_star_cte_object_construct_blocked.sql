with s as (select * from customer_facts)
select s.cust_id, object_construct(*) as doc from s
