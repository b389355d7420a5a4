-- The hot store: recent samples at full resolution. See src/store/mod.rs for its invariants.

-- One row per time series: a metric and its labels.
CREATE TABLE series (
    id         INTEGER PRIMARY KEY,
    metric     TEXT    NOT NULL,               -- e.g. 'disk.used_percent'
    labels     TEXT    NOT NULL,               -- canonical JSON object, keys sorted: '{"mount":"/"}'
    unit       TEXT    NOT NULL,               -- for display: '%', 'bytes', 'bytes/s'
    scale      INTEGER NOT NULL,               -- samples.value = round(real value * scale); REAL for
                                               -- a power-of-two unit (1/4096: memory in pages)
    first_seen INTEGER NOT NULL,               -- unix seconds
    last_seen  INTEGER NOT NULL,               -- unix seconds of its newest sample
    UNIQUE (metric, labels)
);

-- One row per (time, series). Values are scaled integers: SQLite stores small integers in
-- 1-4 bytes where a REAL always takes 8, which keeps a sample near 17 bytes on disk.
-- Keyed by time first, so writes append, retention deletes a key range, and a time range
-- is one index seek.
CREATE TABLE samples (
    ts        INTEGER NOT NULL,                -- unix seconds
    series_id INTEGER NOT NULL,                -- series.id
    value     INTEGER NOT NULL,                -- real value * series.scale, rounded
    PRIMARY KEY (ts, series_id)
) WITHOUT ROWID;

-- Samples with their real values and series identity, for people and ad-hoc SQL.
CREATE VIEW sample_values AS
SELECT s.ts, se.metric, se.labels, s.value * 1.0 / se.scale AS value, se.unit
FROM samples s JOIN series se ON se.id = s.series_id;

-- Times when no samples were taken: the host slept, the agent was stopped, the clock jumped.
CREATE TABLE gaps (
    start_ts INTEGER NOT NULL,                 -- unix seconds of the last tick before
    end_ts   INTEGER NOT NULL,                 -- unix seconds of the first tick after
    reason   TEXT    NOT NULL                  -- 'clock jump' or 'agent stopped'
);

-- One row per agent start, for `hostwatch status`.
CREATE TABLE agent_runs (
    id         INTEGER PRIMARY KEY,
    pid        INTEGER NOT NULL,
    version    TEXT    NOT NULL,
    started_at INTEGER NOT NULL,               -- unix seconds
    last_flush INTEGER,                        -- unix seconds of the last batch written
    stopped_at INTEGER                         -- NULL while running or after a crash
);
