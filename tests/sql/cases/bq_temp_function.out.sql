CREATE TEMP FUNCTION main(x INT64) AS (x + 1);
SELECT main(client_uuid) FROM telemetry.main_v5
