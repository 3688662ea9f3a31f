with s as (from entity_customers)
select t.customer_id AS cust_id, name
from (select * from s) t
