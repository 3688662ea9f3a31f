SELECT m.client_uuid AS client_id, e.category
FROM telemetry.main_v5 AS m, UNNEST(m.events) AS e
WHERE e.category = 'x'
