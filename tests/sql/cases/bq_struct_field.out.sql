SELECT payload.info.client_id, client_uuid AS client_id FROM telemetry.main_v5
