select s.customer_id AS cust_id, s.name
from (select * from entity_customers where region = 'EU') s
where s.customer_id > 100
order by cust_id
