SELECT 1 FROM ANALYTICS.CUSTOMER_FACTS;
SELECT 2 FROM "analytics"."customer_facts";
SELECT 3 FROM "Customer_Facts";
SELECT 4 FROM Analytics.Customer_Facts;
