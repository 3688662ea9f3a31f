select o.id from orders o
where exists (
  select 1 from (select * from customer_facts) s
  where s.name = o.customer_name and customer_id = o.id
)
