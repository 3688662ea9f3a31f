SELECT "customer_id" AS "Cust ID", cf."Order Amount" AS "Order Total", "weird" AS "we""ird", "Sales Region" AS region
FROM analytics.entity_customers cf
WHERE "customer_id" > 0 AND cf."Sales Region" <> 'eu'
