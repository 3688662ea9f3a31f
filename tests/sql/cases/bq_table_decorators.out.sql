SELECT client_uuid AS client_id, submission_date
FROM `moz-fx-data-shared-prod.telemetry.clients_daily_v2$20230101`;
SELECT client_uuid AS client_id FROM `moz-fx-data-shared-prod`.`telemetry`.`clients_daily_v2$__UNPARTITIONED__`;
SELECT c.client_uuid AS client_id FROM `telemetry.clients_daily_v2@1690000000000` AS c;
SELECT COUNT(*) FROM `moz-fx-data-shared-prod.telemetry.clients_daily_v2@-3600000`
