SELECT client_id FROM `moz-fx-data-shared-prod`.`telemetry`.`main`
