WITH main AS (SELECT client_id FROM `moz-fx-data-shared-prod.telemetry.main`)
SELECT client_id FROM main
