CREATE OR REPLACE VIEW `moz-fx-data-shared-prod.telemetry_derived.clients_v1` AS
SELECT client_uuid AS client_id, COUNT(*) AS n FROM `moz-fx-data-shared-prod.telemetry.main_v5` GROUP BY client_uuid
