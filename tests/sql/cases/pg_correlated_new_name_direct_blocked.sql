select * from orders o
where exists (select 1 from analytics.customer_facts c where c.cust_id = customer_id)
