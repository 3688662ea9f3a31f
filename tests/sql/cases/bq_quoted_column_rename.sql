SELECT `Cust ID`, c.`order-total`, region
FROM `proj.analytics.customer_facts` AS c
WHERE c.`Cust ID` > 0
