-- The minute tier holds only the minutes whose raw rows retention has deleted: a rollup
-- aggregates a day of raw rows into agg_1m in the transaction that deletes them
-- (src/archive/rollup.rs), sorted by series, so agg_1m never repeats a raw row and its
-- runs compress as raw's do. samples_1m computes the minutes raw still holds. Each
-- archived sample is counted once: as a raw row, or in agg_1m. agg_1h still counts every
-- sample (an hour's partial is 1/720 of its samples at 5 s).

-- Minutes whose every counted sample is still a raw row: their partials repeat those rows.
-- (Raw holds more where minute_retention pruned a minute that a late sample then gave a
-- partial again: raw has them all.)
DELETE FROM agg_1m a USING (
    SELECT m.series_id, m.bucket
    FROM (SELECT series_id, bucket, sum(count) AS n FROM agg_1m GROUP BY ALL) m
    JOIN (SELECT series_id, ts // 60 * 60 AS bucket, count(*) AS n FROM raw_rows GROUP BY ALL) r
      ON r.series_id = m.series_id AND r.bucket = m.bucket AND r.n >= m.n
) covered
WHERE a.series_id = covered.series_id AND a.bucket = covered.bucket;

-- Minutes partly pruned (a late sample stamped before raw retention, not yet pruned
-- itself): agg_1m counts all their samples, so their raw rows go, as retention would.
DELETE FROM raw r USING agg_1m a WHERE a.series_id = r.series_id AND a.bucket = r.ts // 60 * 60;
DELETE FROM raw_recent r USING agg_1m a WHERE a.series_id = r.series_id AND a.bucket = r.ts // 60 * 60;

-- One-minute aggregates with real values: the aged minutes of agg_1m and the minutes of
-- the raw rows still kept.
CREATE OR REPLACE VIEW samples_1m AS
SELECT make_timestamp(a.bucket * 1000000) AS time, s.metric,
       s.cpu, s.mount, s.device, s.iface, s.sensor, s.label, s.battery, s.pid, s.name, s.probe, s.statement,
       min(a.min) / any_value(s.scale) AS min, max(a.max) / any_value(s.scale) AS max,
       sum(a.sum) / sum(a.count) / any_value(s.scale) AS avg,
       arg_max(a.last, a.last_ts) / any_value(s.scale) AS last,
       sum(a.count)::BIGINT AS count, s.unit, s.labels, a.series_id
FROM (
    SELECT series_id, bucket, min, max, sum, count, last, last_ts FROM agg_1m
    UNION ALL
    SELECT series_id, ts // 60 * 60, min(value), max(value), sum(value), count(*), arg_max(value, ts), max(ts)
    FROM raw_rows GROUP BY series_id, ts // 60 * 60
) a JOIN series s ON s.id = a.series_id
GROUP BY ALL;

-- Every tier at its best resolution: raw where raw is kept, then minutes, then hours.
-- For raw rows min = max = avg = last = value and count = 1. The minutes are agg_1m's
-- own (those raw no longer holds), read without aggregating raw again.
CREATE OR REPLACE VIEW samples_best AS
WITH bounds AS (
    SELECT coalesce((SELECT min(ts) FROM raw_rows), 9223372036854775807) AS raw_from,
           coalesce((SELECT min(bucket) FROM agg_1m), 9223372036854775807) AS minute_from
)
SELECT 'raw' AS tier, time, metric, cpu, mount, device, iface, sensor, label, battery, pid, name, probe, statement,
       value AS min, value AS max, value AS avg, value AS last, 1::BIGINT AS count, unit, labels, series_id
FROM samples
UNION ALL
SELECT '1m', make_timestamp(a.bucket * 1000000), any_value(s.metric),
       any_value(s.cpu), any_value(s.mount), any_value(s.device), any_value(s.iface), any_value(s.sensor),
       any_value(s.label), any_value(s.battery), any_value(s.pid), any_value(s.name), any_value(s.probe),
       any_value(s.statement),
       min(a.min) / any_value(s.scale), max(a.max) / any_value(s.scale),
       sum(a.sum) / sum(a.count) / any_value(s.scale), arg_max(a.last, a.last_ts) / any_value(s.scale),
       sum(a.count)::BIGINT, any_value(s.unit), any_value(s.labels), a.series_id
FROM agg_1m a JOIN series s ON s.id = a.series_id, bounds
WHERE a.bucket + 60 <= bounds.raw_from
GROUP BY a.series_id, a.bucket
UNION ALL
SELECT '1h', time, metric, cpu, mount, device, iface, sensor, label, battery, pid, name, probe, statement,
       min, max, avg, last, count, unit, labels, series_id
FROM samples_1h, bounds WHERE epoch(time) + 3600 <= least(bounds.raw_from, bounds.minute_from);
