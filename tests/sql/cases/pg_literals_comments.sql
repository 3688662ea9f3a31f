/* customer_facts is deprecated */
SELECT 'analytics.customer_facts' AS note, "customer_facts" -- customer_facts
FROM events
WHERE kind = 'customer_facts'
