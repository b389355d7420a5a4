-- A rollup now appends a chunk's rows straight to raw_recent and computes its partial
-- aggregates itself (src/archive/chunk.rs): the staging table is no longer used.
DROP TABLE _rollup_staging;
