select cust_id, row_number() over (partition by region order by updated_at desc) as rn
from customer_facts
qualify rn = 1
