with s as (from customer_facts)
select t.cust_id, name
from (select * from s) t
