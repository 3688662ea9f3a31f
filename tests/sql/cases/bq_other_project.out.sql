SELECT client_id FROM `other-proj`.telemetry.main
