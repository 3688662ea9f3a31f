SELECT cf.cust_id
FROM analytics
	.customer_facts AS cf
JOIN analytics -- same table
 . /* again */ customer_facts AS other ON other.cust_id = cf.cust_id
