SELECT core . entity_customers . cust_id
FROM core /* old home */ . -- moving to core
  entity_customers
WHERE EXISTS (SELECT 1 FROM core.entity_customers c2 WHERE c2.cust_id > 0)
