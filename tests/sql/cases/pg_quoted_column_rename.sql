SELECT "Cust ID", cf."Order Total", "we""ird", region
FROM analytics.customer_facts cf
WHERE "Cust ID" > 0 AND cf.region <> 'eu'
