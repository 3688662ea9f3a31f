SELECT `customer_id` AS `Cust ID`, c.`order_total` AS `order-total`, `Sales Region` AS region
FROM `proj.analytics.entity_customers` AS c
WHERE c.`customer_id` > 0
