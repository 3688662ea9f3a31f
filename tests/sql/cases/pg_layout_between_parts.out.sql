-- the author's layout between name parts survives; only the name part changes
SELECT cf.customer_id AS cust_id, x.name
FROM analytics .
  entity_customers AS cf
JOIN analytics./*x*/entity_customers x ON x.customer_id = cf.customer_id
JOIN "analytics" -- quoted parts
     . "entity_customers" AS q ON q.customer_id = cf.customer_id
