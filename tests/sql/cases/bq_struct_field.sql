SELECT payload.info.client_id, client_id FROM telemetry.main
