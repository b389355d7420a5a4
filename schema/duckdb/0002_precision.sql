-- Precision as a factor that may be a fraction: memory is kept in whole KiB, so its scale
-- is 1/1024 (stored value = real value * scale; the views divide by it, as before).
-- A series' scale changes only together with its stored rows (src/archive/series.rs).
ALTER TABLE series ALTER COLUMN scale TYPE DOUBLE;
