SELECT cf.customer_id AS cust_id
FROM analytics
	.entity_customers AS cf
JOIN analytics -- same table
 . /* again */ entity_customers AS other ON other.customer_id = cf.customer_id
