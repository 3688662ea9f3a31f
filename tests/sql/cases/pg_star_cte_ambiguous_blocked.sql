with s as (select * from customer_facts)
select cust_id, o.total from s join orders o on o.id = s.last_order_id
