SELECT cf."customer_id" AS U&"cust\005fid", cf.name
FROM analytics.entity_customers cf
