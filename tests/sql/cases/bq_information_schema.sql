SELECT job_id FROM `moz-fx-data-shared-prod.region-us.INFORMATION_SCHEMA.JOBS_BY_PROJECT` WHERE creation_time > '2024-01-01'
