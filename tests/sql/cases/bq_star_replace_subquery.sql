WITH hmac_key AS (SELECT key FROM `moz-fx-data-shared-prod.secrets.keys`)
SELECT * REPLACE ((SELECT key FROM hmac_key) AS k), m.* REPLACE ((SELECT 1 FROM hmac_key) AS x)
FROM telemetry.main AS m
