CREATE TEMP FUNCTION main(x INT64) AS (x + 1);
SELECT main(client_id) FROM telemetry.main
