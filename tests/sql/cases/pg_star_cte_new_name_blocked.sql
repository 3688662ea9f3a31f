with s as (select * from customer_facts)
select customer_id, s.name from s join orders o on o.id = s.last_order_id
