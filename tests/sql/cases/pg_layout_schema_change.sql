SELECT analytics . customer_facts . cust_id
FROM analytics /* old home */ . -- moving to core
  customer_facts
WHERE EXISTS (SELECT 1 FROM customer_facts c2 WHERE c2.cust_id > 0)
