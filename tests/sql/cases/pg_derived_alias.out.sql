select d.total
from (select customer_id AS cust_id, sum(amount) as total from entity_customers group by customer_id) as d
