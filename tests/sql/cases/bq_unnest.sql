SELECT m.client_id, e.category
FROM telemetry.main AS m, UNNEST(m.events) AS e
WHERE e.category = 'x'
