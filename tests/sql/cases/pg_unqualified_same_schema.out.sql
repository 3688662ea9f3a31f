-- daily customers
select customer_id AS cust_id, signup_date
from entity_customers
where signup_date >= current_date - 7  -- last week
order by cust_id
