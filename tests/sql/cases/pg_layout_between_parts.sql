-- the author's layout between name parts survives; only the name part changes
SELECT cf.cust_id, x.name
FROM analytics .
  customer_facts AS cf
JOIN analytics./*x*/customer_facts x ON x.cust_id = cf.cust_id
JOIN "analytics" -- quoted parts
     . "customer_facts" AS q ON q.cust_id = cf.cust_id
