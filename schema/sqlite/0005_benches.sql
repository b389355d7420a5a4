-- The weekly host benchmark's results: the same fixed work each week, so a slower run
-- shows throttling or a failing disk. Milliseconds.
CREATE TABLE host_benches (
    at_ms     INTEGER NOT NULL PRIMARY KEY,
    cpu_ms    REAL    NOT NULL,
    memory_ms REAL    NOT NULL,
    fsync_ms  REAL    NOT NULL
);
