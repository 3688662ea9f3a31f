SELECT customer_id AS cust_id INTO #cf FROM entity_customers;
SELECT cust_id FROM #cf
