//! The archive's commands: `rollup`, `query`, `trend`, `export`.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Paths;
use super::show::{local, table};
use crate::archive::{self, Archive, ArchiveError, Outcome, Policy, QueryResult};
use crate::cli::{ExportFormat, Format};
use crate::config::Config;
use crate::daemon::wall_ms;
use crate::sql::Cell;
use crate::store::{Selector, Store};
use crate::units::{Shift, When};

/// `hostwatch rollup`.
pub fn rollup(paths: &Paths, config: &Config) -> Result<()> {
    if !paths.hot.exists() {
        bail!("nothing to roll up: no hot store at {} yet (start the agent with `hostwatch run`)", paths.hot.display());
    }
    // The archive it may create is the data dir's, as private as the agent's own files.
    super::private_data_dir(&paths.dir)?;
    let policy = Policy::from(&config.archive);
    let outcome =
        archive::rollup_logged(&paths.hot, &paths.archive, wall_ms() / 1000, &policy, &AtomicBool::new(false))?;
    match outcome {
        Outcome::Moved { samples, watermark } => {
            outln!("moved {samples} samples; archived up to {}", local(watermark));
            Ok(())
        }
        Outcome::NothingToMove => {
            outln!(
                "nothing older than the hot window ({}) to move",
                humantime::format_duration(config.archive.hot_window)
            );
            Ok(())
        }
        Outcome::Deferred(why) => bail!("rollup deferred: {why}; the hot store keeps the data, nothing was lost"),
    }
}

/// `hostwatch query`.
pub fn query(paths: &Paths, sql: &str, format: Format) -> Result<()> {
    let result = Archive::open_read_waiting(&paths.archive)?.query(sql)?;
    print(&result, format)
}

/// `hostwatch trend`: one series, or with `sum` every matching one added up.
pub fn trend(
    paths: &Paths,
    selector: &Selector,
    (since, until, step): (When, Option<When>, Duration),
    sum: bool,
    format: Format,
) -> Result<()> {
    let now = wall_ms() / 1000;
    let (since, until) = super::span(Some(since), until, now)?;
    let step = i64::try_from(step.as_secs()).context("step too large")?;
    let (store, archive) = sources(paths)?;
    let (store, archive) = (store.as_ref(), archive.as_ref());
    let Some(metric) = crate::metrics::Metric::by_name(&selector.metric) else {
        bail!(super::UsageError(format!("no metric {:?}: `hostwatch series` lists them", selector.metric)));
    };
    if !sum {
        crate::trend::one_series(store, archive, selector)?;
    }
    // Buckets of local time: a day is a local day (from local midnight, across
    // daylight-saving changes too), as are hours in a zone half an hour off UTC (at its
    // offset at --since). People read local times and units; scripts get RFC 3339 and plain
    // numbers.
    let shift = if step % 86_400 == 0 {
        Shift::local_days(since, until)
    } else {
        Shift::fixed(crate::units::local_offset(since))
    };
    let group = if sum { crate::store::Group::Series } else { crate::store::Group::All };
    let by = crate::trend::trends(store, archive, selector, group, (since, until), (step, &shift))?;
    let when = |t: i64| if format == Format::Table { local(t) } else { crate::units::local_rfc3339(t) };
    let number = |v: f64| if format == Format::Table { Cell::Text(metric.show(v)) } else { Cell::Float(v) };
    if sum {
        let mut buckets: std::collections::BTreeMap<i64, (f64, i64)> = std::collections::BTreeMap::new();
        for p in by.values().flatten() {
            let b = buckets.entry(p.bucket).or_default();
            *b = (b.0 + p.avg, b.1 + 1);
        }
        let columns = ["time", "sum", "series"].map(str::to_owned).to_vec();
        let rows =
            buckets.into_iter().map(|(t, (total, n))| vec![Cell::Text(when(t)), number(total), Cell::Int(n)]).collect();
        return print(&QueryResult { columns, rows }, format);
    }
    let points = by.into_values().next().unwrap_or_default();
    let columns = ["time", "avg", "min", "max", "count"].map(str::to_owned).to_vec();
    let rows = points
        .iter()
        .map(|p| vec![Cell::Text(when(p.bucket)), number(p.avg), number(p.min), number(p.max), Cell::Int(p.count)])
        .collect();
    print(&QueryResult { columns, rows }, format)
}

/// The hot store and the archive, either of which may not exist yet; an error if neither does.
pub fn sources(paths: &Paths) -> Result<(Option<Store>, Option<Archive>)> {
    let store = Store::open_read_only(&paths.hot).ok();
    let archive = match Archive::open_read_waiting(&paths.archive) {
        Err(ArchiveError::Missing(_)) => None,
        other => Some(other?),
    };
    if store.is_none() && archive.is_none() {
        bail!("no data yet in {}: start the agent with `hostwatch run`", paths.dir.display());
    }
    Ok((store, archive))
}

/// `hostwatch export`.
pub fn export(paths: &Paths, format: ExportFormat, out: &Path, since: Option<When>, until: Option<When>) -> Result<()> {
    let (since, until) = super::span(since, until, wall_ms() / 1000)?;
    let store = Store::open_read_only(&paths.hot)?;
    let host = crate::collect::host_name();
    let req = archive::Export {
        out: out.to_owned(),
        format: match format {
            ExportFormat::Parquet => archive::Format::Parquet,
            ExportFormat::Csv => archive::Format::Csv,
        },
        since,
        until,
        host,
    };
    let rows = archive::export(&paths.archive, &store, &req)?;
    outln!("exported {rows} samples to {}", out.display());
    Ok(())
}

fn json(cell: &Cell) -> serde_json::Value {
    match cell {
        Cell::Null => serde_json::Value::Null,
        Cell::Bool(b) => (*b).into(),
        Cell::Int(i) => (*i).into(),
        Cell::Float(x) => serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Cell::Text(s) => s.clone().into(),
        Cell::Nested { text, json } => serde_json::from_str(json).unwrap_or_else(|_| text.clone().into()),
    }
}

/// Prints a result as a table, CSV or JSON.
fn print(result: &QueryResult, format: Format) -> Result<()> {
    match format {
        Format::Table => {
            let rows: Vec<Vec<String>> =
                result.rows.iter().map(|r| r.iter().map(ToString::to_string).collect()).collect();
            let header: Vec<&str> = result.columns.iter().map(String::as_str).collect();
            out!("{}", table(&header, &rows));
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(&result.columns)?;
            for row in &result.rows {
                w.write_record(row.iter().map(ToString::to_string))?;
            }
            w.flush()?;
        }
        Format::Json => {
            let rows = result.rows.iter().map(|r| r.iter().map(json).collect());
            outln!("{}", super::listing::objects(result.columns.iter().map(String::as_str), rows));
        }
    }
    Ok(())
}
