SELECT 1 FROM ANALYTICS.ENTITY_CUSTOMERS;
SELECT 2 FROM "analytics"."entity_customers";
SELECT 3 FROM "Customer_Facts";
SELECT 4 FROM Analytics.entity_customers;
