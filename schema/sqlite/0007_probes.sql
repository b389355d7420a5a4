-- The last attempt of each probe, for `hostwatch probes`: why it failed, in words the
-- probe.* samples cannot carry (they keep the history). One row per probe, replaced at
-- each attempt; the last failure is kept across the successes after it.
CREATE TABLE probe_last (
    probe           TEXT    PRIMARY KEY,
    at_ms           INTEGER NOT NULL,
    reason          TEXT,               -- NULL: the attempt succeeded
    detail          TEXT    NOT NULL,   -- the failure, or the warning conditions that failed
    failed_at_ms    INTEGER,            -- the last failed attempt
    failed_reason   TEXT,
    failed_detail   TEXT
) WITHOUT ROWID;
