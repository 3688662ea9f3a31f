SELECT cf.U&"cust\zz05fid", cf.name
FROM analytics.customer_facts cf
