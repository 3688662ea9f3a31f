execute immediate 'select * from customer_facts';
select cust_id from customer_facts;
