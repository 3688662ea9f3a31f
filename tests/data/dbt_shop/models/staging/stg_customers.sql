select 1 as cust_id, 'a@example.com' as email
