select to_json_string(c) as doc
from analytics.customer_facts c
order by c.cust_id
