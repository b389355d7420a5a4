-- Every run of a load or stress test, kept beyond the hot store's retention (a row a run):
-- `hostwatch load list/show` read it, and each run is compared with the median of the last
-- runs of its test and plan. Its figures are also samples (loadtest.*, name=TEST), which
-- the archive keeps with the rest. A run is written once, when it ends, in the transaction
-- that records its report: a run killed midway leaves no row, never half of one.
CREATE TABLE load_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    test         TEXT    NOT NULL,
    plan         TEXT    NOT NULL,         -- the conditions: runs compare only within one plan
    started_ms   INTEGER NOT NULL,
    finished_ms  INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('complete', 'partial', 'aborted', 'refused')),
    reason       TEXT,                     -- why it was refused
    client_bound INTEGER NOT NULL,         -- 1: the generator was saturated; not compared
    kept         TEXT    NOT NULL,         -- the run as JSON: totals, steps, breaking point
    report_id    INTEGER REFERENCES reports(id)
);
CREATE INDEX load_runs_test ON load_runs(test, plan, id);
