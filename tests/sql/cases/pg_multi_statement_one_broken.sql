-- nightly refresh; owner: analytics
SELECT f.customer_id, f.ltv
FROM analytics.customer_facts AS f
WHERE f.note <> 'a;b';
SELECT customer_id FROM WHERE customer_id = 1;
SELECT $body$ one; two $body$ AS txt, o.customer_id /* ; */ FROM orders o;
INSERT INTO analytics.daily_orders (customer_id)
SELECT e.customer_id FROM "Raw"."Events;x" e;
