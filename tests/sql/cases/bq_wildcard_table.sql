SELECT event_name, _TABLE_SUFFIX AS day
FROM `moz-fx-data-marketing-prod.analytics_313696158.events_2023*`
WHERE _TABLE_SUFFIX BETWEEN '0101' AND '0131';
SELECT COUNT(*) FROM `moz-fx-data-marketing-prod`.`analytics_313696158`.`events_*`;
SELECT event_name FROM `moz-fx-data-marketing-prod.analytics_313696158.events_20230105`
