SELECT client_id FROM telemetry.main WHERE client_id = 'unterminated
