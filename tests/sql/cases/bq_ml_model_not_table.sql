SELECT p.predicted_label, p.client_id
FROM ML.PREDICT(MODEL `moz-fx-data-shared-prod.ml.churn_model`,
                (SELECT client_id, days_active FROM telemetry.clients WHERE day = '2024-01-01')) AS p;
SELECT * FROM ML.EVALUATE(MODEL ml.churn_model, TABLE telemetry.holdout);
SELECT * FROM ML.DETECT_ANOMALIES(MODEL `ml.anomaly`, STRUCT(0.02 AS contamination), TABLE `telemetry.metrics`);
SELECT * FROM ML.FORECAST(MODEL ml.forecaster, STRUCT(30 AS horizon));
SELECT * FROM ML.WEIGHTS(MODEL ml.churn_model, STRUCT(TRUE AS standardize));
SELECT * FROM ML.EXPLAIN_PREDICT(MODEL ml.churn_model, (SELECT * FROM telemetry.clients), STRUCT(3 AS top_k_features));
CREATE OR REPLACE MODEL ml.churn_model OPTIONS (model_type = 'logistic_reg') AS
SELECT client_id, days_active FROM telemetry.clients;
DROP MODEL IF EXISTS ml.old_model
