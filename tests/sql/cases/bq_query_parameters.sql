SELECT client_id FROM `moz-fx-data-shared-prod.telemetry.main` WHERE DATE(submission_timestamp) = @submission_date AND sample_id IN UNNEST(@ids)
