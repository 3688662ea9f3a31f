with s as (select * from customer_facts)
select s.cust_id, row_to_json(s) as doc from s
