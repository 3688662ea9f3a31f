SELECT
  mozfun.hist.extract(histogram).sum AS s,
  `moz-fx-data-shared-prod.udf.get_key`(map, 'k') AS k,
  udf.normalize(os) AS os
FROM `moz-fx-data-shared-prod.telemetry.main`
