select d.total
from (select cust_id, sum(amount) as total from customer_facts group by cust_id) as d
