select s.cust_id, s.name
from (select * from customer_facts where region = 'EU') s
where s.cust_id > 100
order by cust_id
