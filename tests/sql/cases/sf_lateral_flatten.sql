select cf.cust_id, f.value
from customer_facts cf, lateral flatten(input => cf.tags) f
