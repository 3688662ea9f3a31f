SELECT d.cid, o.total
FROM (SELECT cust_id AS cid FROM customer_facts) d, orders o
WHERE cid = o.cid
