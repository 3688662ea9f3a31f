-- daily customers
select cust_id, signup_date
from customer_facts
where signup_date >= current_date - 7  -- last week
order by cust_id
