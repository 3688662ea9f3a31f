SELECT m.client_id, m.submission_date
FROM `moz-fx-data-shared-prod.telemetry.main` AS m
WHERE m.submission_date = '2024-01-01'
