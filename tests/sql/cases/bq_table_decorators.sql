SELECT client_id, submission_date
FROM `moz-fx-data-shared-prod.telemetry.clients_daily$20230101`;
SELECT client_id FROM `moz-fx-data-shared-prod`.`telemetry`.`clients_daily$__UNPARTITIONED__`;
SELECT c.client_id FROM `telemetry.clients_daily@1690000000000` AS c;
SELECT COUNT(*) FROM `moz-fx-data-shared-prod.telemetry.clients_daily@-3600000`
