SELECT m.client_uuid AS client_id, m.submission_date
FROM `moz-fx-data-shared-prod.telemetry.main_v5` AS m
WHERE m.submission_date = '2024-01-01'
