DECLARE d DATE DEFAULT CURRENT_DATE();
SET d = (SELECT MAX(submission_date) FROM telemetry.main);
SELECT client_id FROM telemetry.main WHERE submission_date = d;
