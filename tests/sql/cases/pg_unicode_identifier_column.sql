SELECT cf.U&"cust\005fid", cf.name
FROM analytics.customer_facts cf
