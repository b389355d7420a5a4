//! Numbered schema migrations from `schema/sqlite/`, embedded in the binary and applied in
//! order; `PRAGMA user_version` records how far a file has come. Also the one data
//! migration that depends on the binary rather than the file: rescaling to new precisions.

use rusqlite::{Connection, TransactionBehavior, params};

use crate::metrics::Metric;

/// Every migration, in order: (version, SQL). A test checks that every file in
/// `schema/sqlite/` is listed here.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "0001_hot_store.sql", include_str!("../../schema/sqlite/0001_hot_store.sql")),
    (2, "0002_rollups.sql", include_str!("../../schema/sqlite/0002_rollups.sql")),
    (3, "0003_alerts.sql", include_str!("../../schema/sqlite/0003_alerts.sql")),
    (4, "0004_checks.sql", include_str!("../../schema/sqlite/0004_checks.sql")),
    (5, "0005_benches.sql", include_str!("../../schema/sqlite/0005_benches.sql")),
    (6, "0006_baselines.sql", include_str!("../../schema/sqlite/0006_baselines.sql")),
    (7, "0007_probes.sql", include_str!("../../schema/sqlite/0007_probes.sql")),
    (8, "0008_loadtests.sql", include_str!("../../schema/sqlite/0008_loadtests.sql")),
    (9, "0009_claim_owner.sql", include_str!("../../schema/sqlite/0009_claim_owner.sql")),
];

/// Brings the schema up to date; each migration runs in its own transaction.
/// Returns the version a newer agent left, if the file is ahead of this binary.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<Result<(), u32>> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Ok(Err(current));
    }
    for (version, _, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(Ok(()))
}

/// Brings every series to its metric's current precision: a release that changed a
/// metric's [`crate::metrics::Precision`] rescales that metric's stored samples once, in one
/// transaction, so a series never mixes two scales. Series of metrics this build does not
/// know keep theirs.
pub fn rescale(conn: &mut Connection) -> rusqlite::Result<()> {
    // Read once cheaply; only a file that needs it takes the write lock and reads again, so
    // two processes opening it at once cannot both rescale.
    if stale_scales(conn)?.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TEMP TABLE rescale (id INTEGER PRIMARY KEY, old REAL NOT NULL, new REAL NOT NULL)")?;
    for (id, old, new) in stale_scales(&tx)? {
        tx.execute("INSERT INTO rescale VALUES (?1, ?2, ?3)", params![id, old, new])?;
    }
    // One pass over the samples, whatever the number of series.
    tx.execute_batch(
        "UPDATE samples SET value = CAST(round(samples.value * r.new / r.old) AS INTEGER)
         FROM rescale r WHERE r.id = samples.series_id;
         UPDATE series SET scale = r.new FROM rescale r WHERE r.id = series.id;
         DROP TABLE temp.rescale;",
    )?;
    tx.commit()
}

/// (series id, stored scale, its metric's scale now) for every series whose scale is stale.
fn stale_scales(conn: &Connection) -> rusqlite::Result<Vec<(i64, f64, f64)>> {
    let mut stmt = conn.prepare("SELECT id, metric, scale FROM series")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, f64>(2)?)))?;
    rows.filter_map(|row| match row {
        Ok((id, name, old)) => {
            let metric = Metric::by_name(&name)?;
            (metric.scale() != old).then_some(Ok((id, old, metric.scale())))
        }
        Err(e) => Some(Err(e)),
    })
    .collect()
}

/// Checks that the `.sql` files in `dir` are exactly `migrations`, numbered 1, 2, 3...
/// (shared with the archive's migrations).
#[cfg(test)]
pub(crate) fn assert_all_listed(dir: &str, migrations: &[(u32, &str, &str)]) {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".sql"))
        .collect();
    files.sort();
    let listed: Vec<String> = migrations.iter().map(|m| m.1.to_owned()).collect();
    assert_eq!(files, listed, "every schema file must be a listed migration");
    for (i, m) in migrations.iter().enumerate() {
        assert_eq!(m.0 as usize, i + 1, "migrations are numbered 1, 2, 3...");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_file_is_a_listed_migration() {
        super::assert_all_listed(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/sqlite"), super::MIGRATIONS);
    }
}
