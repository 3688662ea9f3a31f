select customer_id AS cust_id, row_number() over (partition by region order by updated_at desc) as rn
from entity_customers
qualify rn = 1
