-- Probes (src/probe/) label their series `probe=NAME`, and a postgres probe's statement
-- series `statement=QUERYID` too: each label gets its own column, like every label, and
-- the views show them after `name`.
ALTER TABLE series ADD COLUMN probe VARCHAR;
ALTER TABLE series ADD COLUMN statement VARCHAR;

-- Raw samples with real values, one row per (time, series).
CREATE OR REPLACE VIEW samples AS
SELECT make_timestamp(r.ts * 1000000) AS time, s.metric,
       s.cpu, s.mount, s.device, s.iface, s.sensor, s.label, s.battery, s.pid, s.name, s.probe, s.statement,
       r.value / s.scale AS value, s.unit, s.labels, r.series_id
FROM raw_rows r JOIN series s ON s.id = r.series_id;

-- One-minute aggregates with real values.
CREATE OR REPLACE VIEW samples_1m AS
SELECT make_timestamp(a.bucket * 1000000) AS time, s.metric,
       s.cpu, s.mount, s.device, s.iface, s.sensor, s.label, s.battery, s.pid, s.name, s.probe, s.statement,
       min(a.min) / any_value(s.scale) AS min, max(a.max) / any_value(s.scale) AS max,
       sum(a.sum) / sum(a.count) / any_value(s.scale) AS avg,
       arg_max(a.last, a.last_ts) / any_value(s.scale) AS last,
       sum(a.count)::BIGINT AS count, s.unit, s.labels, a.series_id
FROM agg_1m a JOIN series s ON s.id = a.series_id
GROUP BY ALL;

-- One-hour aggregates with real values.
CREATE OR REPLACE VIEW samples_1h AS
SELECT make_timestamp(a.bucket * 1000000) AS time, s.metric,
       s.cpu, s.mount, s.device, s.iface, s.sensor, s.label, s.battery, s.pid, s.name, s.probe, s.statement,
       min(a.min) / any_value(s.scale) AS min, max(a.max) / any_value(s.scale) AS max,
       sum(a.sum) / sum(a.count) / any_value(s.scale) AS avg,
       arg_max(a.last, a.last_ts) / any_value(s.scale) AS last,
       sum(a.count)::BIGINT AS count, s.unit, s.labels, a.series_id
FROM agg_1h a JOIN series s ON s.id = a.series_id
GROUP BY ALL;

-- Every tier at its best resolution: raw where raw is kept, then minutes, then hours.
-- For raw rows min = max = avg = last = value and count = 1.
CREATE OR REPLACE VIEW samples_best AS
WITH bounds AS (
    SELECT coalesce((SELECT min(ts) FROM raw_rows), 9223372036854775807) AS raw_from,
           coalesce((SELECT min(bucket) FROM agg_1m), 9223372036854775807) AS minute_from
)
SELECT 'raw' AS tier, time, metric, cpu, mount, device, iface, sensor, label, battery, pid, name, probe, statement,
       value AS min, value AS max, value AS avg, value AS last, 1::BIGINT AS count, unit, labels, series_id
FROM samples
UNION ALL
SELECT '1m', time, metric, cpu, mount, device, iface, sensor, label, battery, pid, name, probe, statement,
       min, max, avg, last, count, unit, labels, series_id
FROM samples_1m, bounds WHERE epoch(time) + 60 <= bounds.raw_from
UNION ALL
SELECT '1h', time, metric, cpu, mount, device, iface, sensor, label, battery, pid, name, probe, statement,
       min, max, avg, last, count, unit, labels, series_id
FROM samples_1h, bounds WHERE epoch(time) + 3600 <= least(bounds.raw_from, bounds.minute_from);
