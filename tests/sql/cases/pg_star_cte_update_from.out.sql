with s as (select * from entity_customers)
update crm.contacts t set name = s.name, ext_id = s.customer_id
from s where t.id = s.customer_id
