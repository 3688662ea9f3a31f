SELECT "CUSTOMER_ID" AS "Cust ID", "Customer Name" AS CustName, c."region" AS region
FROM analytics.entity_customers c
WHERE c."CUSTOMER_ID" IS NOT NULL
