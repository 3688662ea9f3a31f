select cf.customer_id AS cust_id, f.value
from entity_customers cf, lateral flatten(input => cf.tags) f
