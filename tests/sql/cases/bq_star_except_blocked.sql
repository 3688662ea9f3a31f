SELECT * EXCEPT (client_id) FROM telemetry.main
