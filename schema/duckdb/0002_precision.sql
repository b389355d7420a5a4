-- Precision as a factor that may be a fraction: memory is kept in whole 4 KiB pages, so
-- its scale is 1/4096 (stored value = real value * scale; the views divide by it).
-- A series' scale changes only together with its stored rows (src/archive/series.rs).
ALTER TABLE series ALTER COLUMN scale TYPE DOUBLE;
