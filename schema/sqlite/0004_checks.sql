-- The performance checklist: one row per job and slot it ran for, and the reports.

-- A slot is claimed (started) before its job runs: a restart finds it and never runs the
-- same slot twice. finished_ms stays NULL if the agent died during the run.
CREATE TABLE check_runs (
    job         TEXT    NOT NULL,
    slot        INTEGER NOT NULL,              -- the schedule's slot, unix seconds
    started_ms  INTEGER NOT NULL,
    finished_ms INTEGER,
    outcome     TEXT,                          -- ok | findings | failed: why | timed out
    report_id   INTEGER REFERENCES reports(id),
    PRIMARY KEY (job, slot)
) WITHOUT ROWID;

-- What a run found: structured findings (JSON) and the same as Markdown for people.
CREATE TABLE reports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job        TEXT    NOT NULL,
    slot       INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    level      TEXT    NOT NULL CHECK (level IN ('ok', 'info', 'warning', 'critical')),
    findings   TEXT    NOT NULL,
    markdown   TEXT    NOT NULL
);
CREATE INDEX reports_created ON reports(created_ms);
