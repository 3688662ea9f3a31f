SELECT 1 FROM telemetry.Main;
SELECT 2 FROM telemetry.main_v5;
