with s as (select * from customer_facts)
update crm.contacts t set name = s.name, ext_id = s.cust_id
from s where t.id = s.cust_id
