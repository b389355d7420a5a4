-- Alert state, alert history and the notification outbox.

-- One row per (rule, series) that is pending or firing; a resolved alert's row is deleted
-- (its resolution is in alert_events). A restart reads these back: nothing firing is
-- forgotten or announced twice. Values are never NaN: the engine ignores such samples.
CREATE TABLE alerts (
    rule        TEXT    NOT NULL,
    series      TEXT    NOT NULL,              -- metric{label="value",...}, for people
    metric      TEXT    NOT NULL,              -- the series as the agent reads it back:
    labels      TEXT    NOT NULL,              -- metric name and labels as canonical JSON
    phase       TEXT    NOT NULL CHECK (phase IN ('pending', 'firing')),
    severity    TEXT    NOT NULL CHECK (severity IN ('warning', 'critical')),
    since_ms    INTEGER NOT NULL,              -- pending since, or fired at (unix ms)
    value       REAL    NOT NULL,              -- the condition's value at the last change
    threshold   REAL    NOT NULL,
    notified_ms INTEGER NOT NULL,              -- last announcement (unix ms), 0 if none
    PRIMARY KEY (rule, series)
) WITHOUT ROWID;

-- Every announced change: fired, escalated, repeated, resolved.
CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms      INTEGER NOT NULL,
    rule       TEXT    NOT NULL,
    series     TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    severity   TEXT    NOT NULL,
    value      REAL    NOT NULL,
    threshold  REAL    NOT NULL,
    started_ms INTEGER NOT NULL
);
CREATE INDEX alert_events_at ON alert_events(at_ms);

-- Notices waiting for (or done with) one channel each. Delivered in id order per channel;
-- the body is the notice as JSON (schema hostwatch.notification.v1).
-- AUTOINCREMENT: ids never restart, so "the oldest pending" is always the first sent.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    channel    TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_ms    INTEGER NOT NULL,               -- not tried again before this (unix ms)
    last_error TEXT,
    done_ms    INTEGER,                        -- NULL while pending
    outcome    TEXT CHECK (outcome IN ('delivered', 'failed', 'suppressed', 'expired'))
);
CREATE INDEX outbox_pending ON outbox(channel, id) WHERE done_ms IS NULL;
