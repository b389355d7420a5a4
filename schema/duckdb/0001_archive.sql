-- The archive: aged samples moved out of the hot store, in three tiers.
-- See src/archive/mod.rs for the invariants and docs/ARCHIVE.md for how to query it.
-- Times are Unix seconds (UTC) in the tables and TIMESTAMP (UTC) in the views.
-- Values are stored as integers scaled by series.scale (the metric's precision), which
-- DuckDB compresses to about a byte per sample; the views divide it back out.

-- One row per time series.
CREATE TABLE series (
    id      INTEGER PRIMARY KEY,
    metric  VARCHAR NOT NULL,           -- e.g. 'disk.used_percent'
    labels  VARCHAR NOT NULL,           -- all labels as canonical JSON: '{"mount":"/"}'
    unit    VARCHAR NOT NULL,           -- '%', 'bytes', 'bytes/s', '°C', 's', ''
    scale   BIGINT  NOT NULL,           -- stored value = real value * scale (DOUBLE since 0002)
    -- Each known label as its own column (NULL where the metric has no such label).
    cpu     VARCHAR,
    mount   VARCHAR,
    device  VARCHAR,
    iface   VARCHAR,
    sensor  VARCHAR,
    label   VARCHAR,
    battery VARCHAR,
    pid     VARCHAR,
    name    VARCHAR,
    UNIQUE (metric, labels)
);

-- Raw tier, in two tables. Each rollup lands its hour in raw_recent; once a UTC day is
-- complete, it moves to raw in one piece sorted by (series_id, ts), so every series is one
-- long run that compresses to about a byte per sample (hourly runs compress far worse).
CREATE TABLE raw (
    series_id INTEGER NOT NULL,
    ts        BIGINT  NOT NULL,
    value     BIGINT  NOT NULL
);

CREATE TABLE raw_recent (
    series_id INTEGER NOT NULL,
    ts        BIGINT  NOT NULL,
    value     BIGINT  NOT NULL
);

-- Both raw tables as one.
CREATE VIEW raw_rows AS
SELECT series_id, ts, value FROM raw
UNION ALL
SELECT series_id, ts, value FROM raw_recent;

-- Aggregate tiers: partial aggregates per (series, bucket). Normally one row per bucket;
-- a sample that arrives late adds a second partial row, so readers combine rows with
-- min(min), max(max), sum(sum) / sum(count) and arg_max(last, last_ts): the views do.
CREATE TABLE agg_1m (
    series_id INTEGER NOT NULL,
    bucket    BIGINT  NOT NULL,         -- Unix seconds of the minute's start
    min       BIGINT  NOT NULL,
    max       BIGINT  NOT NULL,
    sum       BIGINT  NOT NULL,
    count     INTEGER NOT NULL,
    last      BIGINT  NOT NULL,
    last_ts   BIGINT  NOT NULL
);

CREATE TABLE agg_1h (
    series_id INTEGER NOT NULL,
    bucket    BIGINT  NOT NULL,         -- Unix seconds of the hour's start
    min       BIGINT  NOT NULL,
    max       BIGINT  NOT NULL,
    sum       BIGINT  NOT NULL,
    count     INTEGER NOT NULL,
    last      BIGINT  NOT NULL,
    last_ts   BIGINT  NOT NULL
);

-- The rollup's marker: every hot-store sample with ts < watermark is in this archive.
-- It is updated in the same transaction as the rows it covers.
CREATE TABLE rollup_state (
    watermark BIGINT NOT NULL
);
INSERT INTO rollup_state VALUES (0);

-- Rows of the rollup in progress; empty outside a rollup's transaction.
CREATE TABLE _rollup_staging (
    series_id INTEGER NOT NULL,
    ts        BIGINT  NOT NULL,
    value     BIGINT  NOT NULL
);

-- Raw samples with real values, one row per (time, series).
CREATE VIEW samples AS
SELECT make_timestamp(r.ts * 1000000) AS time, s.metric,
       s.cpu, s.mount, s.device, s.iface, s.sensor, s.label, s.battery, s.pid, s.name,
       r.value / s.scale AS value, s.unit, s.labels, r.series_id
FROM raw_rows r JOIN series s ON s.id = r.series_id;

-- One-minute aggregates with real values.
CREATE VIEW samples_1m AS
SELECT make_timestamp(a.bucket * 1000000) AS time, s.metric,
       s.cpu, s.mount, s.device, s.iface, s.sensor, s.label, s.battery, s.pid, s.name,
       min(a.min) / any_value(s.scale) AS min, max(a.max) / any_value(s.scale) AS max,
       sum(a.sum) / sum(a.count) / any_value(s.scale) AS avg,
       arg_max(a.last, a.last_ts) / any_value(s.scale) AS last,
       sum(a.count)::BIGINT AS count, s.unit, s.labels, a.series_id
FROM agg_1m a JOIN series s ON s.id = a.series_id
GROUP BY ALL;

-- One-hour aggregates with real values.
CREATE VIEW samples_1h AS
SELECT make_timestamp(a.bucket * 1000000) AS time, s.metric,
       s.cpu, s.mount, s.device, s.iface, s.sensor, s.label, s.battery, s.pid, s.name,
       min(a.min) / any_value(s.scale) AS min, max(a.max) / any_value(s.scale) AS max,
       sum(a.sum) / sum(a.count) / any_value(s.scale) AS avg,
       arg_max(a.last, a.last_ts) / any_value(s.scale) AS last,
       sum(a.count)::BIGINT AS count, s.unit, s.labels, a.series_id
FROM agg_1h a JOIN series s ON s.id = a.series_id
GROUP BY ALL;

-- Every tier at its best resolution: raw where raw is kept, then minutes, then hours.
-- For raw rows min = max = avg = last = value and count = 1.
CREATE VIEW samples_best AS
WITH bounds AS (
    SELECT coalesce((SELECT min(ts) FROM raw_rows), 9223372036854775807) AS raw_from,
           coalesce((SELECT min(bucket) FROM agg_1m), 9223372036854775807) AS minute_from
)
SELECT 'raw' AS tier, time, metric, cpu, mount, device, iface, sensor, label, battery, pid, name,
       value AS min, value AS max, value AS avg, value AS last, 1::BIGINT AS count, unit, labels, series_id
FROM samples
UNION ALL
SELECT '1m', time, metric, cpu, mount, device, iface, sensor, label, battery, pid, name,
       min, max, avg, last, count, unit, labels, series_id
FROM samples_1m, bounds WHERE epoch(time) + 60 <= bounds.raw_from
UNION ALL
SELECT '1h', time, metric, cpu, mount, device, iface, sensor, label, battery, pid, name,
       min, max, avg, last, count, unit, labels, series_id
FROM samples_1h, bounds WHERE epoch(time) + 3600 <= least(bounds.raw_from, bounds.minute_from);
