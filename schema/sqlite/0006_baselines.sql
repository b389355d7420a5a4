-- Each series' usual values, recomputed by the monthly audit from the archive's last 30
-- days; the newest computation replaces the older one.
CREATE TABLE baselines (
    metric      TEXT    NOT NULL,
    labels      TEXT    NOT NULL,
    computed_ms INTEGER NOT NULL,
    p50         REAL    NOT NULL,
    p95         REAL    NOT NULL,
    p99         REAL    NOT NULL,
    samples     INTEGER NOT NULL,
    PRIMARY KEY (metric, labels)
) WITHOUT ROWID;
