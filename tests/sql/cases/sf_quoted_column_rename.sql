SELECT "Cust ID", CustName, c.region
FROM analytics.customer_facts c
WHERE c."Cust ID" IS NOT NULL
