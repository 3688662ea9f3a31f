with s as (
  select * from customer_facts c join orders o on o.cust_id = c.cust_id
)
select s.name, s.total from s
