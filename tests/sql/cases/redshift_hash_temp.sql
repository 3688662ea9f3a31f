SELECT cust_id INTO #cf FROM customer_facts;
SELECT cust_id FROM #cf
