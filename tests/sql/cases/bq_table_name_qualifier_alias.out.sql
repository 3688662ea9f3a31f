SELECT metrics.counter.clicks, client_info.client_id
FROM `moz-fx-data-shared-prod.firefox_desktop.metrics_v2` AS metrics, UNNEST(metrics.labeled_counter.errors) AS e
WHERE metrics.counter.clicks > 0
