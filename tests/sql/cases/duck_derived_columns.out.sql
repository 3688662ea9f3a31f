SELECT d.cid, o.total
FROM (SELECT customer_id AS cid FROM entity_customers) d, orders o
WHERE cid = o.cid
