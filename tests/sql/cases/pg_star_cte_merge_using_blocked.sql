with s as (select * from customer_facts)
merge into crm.contacts t
using s on t.id = s.cust_id
when matched then update set name = s.name
