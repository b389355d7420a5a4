-- One row per rollup attempt (moving aged samples to the DuckDB archive), for status.
CREATE TABLE rollups (
    at        INTEGER NOT NULL,            -- unix seconds of the attempt
    moved     INTEGER NOT NULL,            -- samples moved (0 when deferred)
    watermark INTEGER,                     -- the archive's watermark after it
    outcome   TEXT    NOT NULL             -- 'moved', or why it was deferred or failed
);
