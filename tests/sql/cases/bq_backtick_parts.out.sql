SELECT client_uuid AS client_id FROM `moz-fx-data-shared-prod`.`telemetry`.`main_v5`
