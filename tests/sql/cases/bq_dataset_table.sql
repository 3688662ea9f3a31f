SELECT client_id FROM telemetry.main
