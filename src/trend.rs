//! A metric's trend over time from the hot store and the archive joined: the archive
//! answers below its watermark, the hot store from there on, buckets merged exactly.
//!
//! Owns the join rule; must not hold SQL (each store answers for itself).

use std::collections::BTreeMap;

use crate::archive::{Archive, ArchiveError};
use crate::metrics::Partial;
use crate::store::{Group, Grouped, Selector, Store, StoreError};
use crate::units::Shift;

/// One bucket of a trend, in real units.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Unix seconds of the bucket's start.
    pub bucket: i64,
    /// Smallest value in the bucket.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub avg: f64,
    /// Number of samples.
    pub count: i64,
}

/// Why a trend could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum TrendError {
    /// No series matches.
    #[error("no series matches {0}: `hostwatch series` lists them")]
    NoSeries(String),
    /// Several series match and a trend is of one. Said in the command line's terms; the
    /// API says it in its own with [`TrendError::as_parameters`].
    #[error(
        "{count} series match {selector}; pick one, e.g. {}, or add them up with --sum",
        pick(examples, "--label ", " ")
    )]
    Ambiguous {
        /// What was asked.
        selector: String,
        /// How many match.
        count: usize,
        /// A few of their label sets (canonical JSON).
        examples: Vec<String>,
    },
    /// The hot store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The archive failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

fn describe(sel: &Selector) -> String {
    let labels: Vec<String> = sel.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{}{{{}}}", sel.metric, labels.join(","))
}

/// Label sets (canonical JSON) as what picks each: `--label mount=/home` for the command
/// line (`prefix` `--label `, `sep` a space), `label=mount=/home` for the API; sets joined
/// by "or".
fn pick(examples: &[String], prefix: &str, sep: &str) -> String {
    let one = |labels: &String| {
        let map: BTreeMap<String, String> = serde_json::from_str(labels).unwrap_or_default();
        map.iter().map(|(k, v)| format!("{prefix}{k}={v}")).collect::<Vec<_>>().join(sep)
    };
    examples.iter().map(one).collect::<Vec<_>>().join(" or ")
}

impl TrendError {
    /// Whether the request asked for something that is not there (no series, or several):
    /// the asker's to fix, not the program's; and what to say to an API client.
    pub fn as_parameters(&self) -> Option<String> {
        match self {
            TrendError::NoSeries(selector) => Some(format!("no series matches {selector}: GET /api/series lists them")),
            TrendError::Ambiguous { selector, count, examples } => {
                Some(format!("{count} series match {selector}; pick one, e.g. {}", pick(examples, "label=", "&")))
            }
            _ => None,
        }
    }
}

/// Whether `sel` matches exactly one series in either store: a trend of one series.
pub fn one_series(store: Option<&Store>, archive: Option<&Archive>, sel: &Selector) -> Result<(), TrendError> {
    let mut matching = store.map(|s| s.matching_series(sel)).transpose()?.unwrap_or_default();
    matching.extend(archive.map(|a| a.matching_series(sel)).transpose()?.unwrap_or_default());
    matching.sort();
    matching.dedup();
    match matching.len() {
        0 => Err(TrendError::NoSeries(describe(sel))),
        1 => Ok(()),
        count => {
            let examples = matching.into_iter().take(4).collect();
            Err(TrendError::Ambiguous { selector: describe(sel), count, examples })
        }
    }
}

/// Every series `sel` matches, together, in `step`-second buckets over `[since, until)`:
/// each bucket aggregates all their samples (all the pids of a process name, say). Check
/// [`one_series`] first for the trend of one series. Buckets are UTC-aligned; see
/// [`trends`] for local ones.
pub fn trend(
    store: Option<&Store>,
    archive: Option<&Archive>,
    sel: &Selector,
    since: i64,
    until: i64,
    step: i64,
) -> Result<Vec<Point>, TrendError> {
    let utc = Shift::fixed(0);
    Ok(trends(store, archive, sel, Group::All, (since, until), (step, &utc))?.remove("").unwrap_or_default())
}

/// The series `sel` matches in `group`s, a trend per group in `step`-second buckets over
/// `[since, until)`, by group key; a group with no sample has no entry. Buckets lie as
/// `shift` lays them (local days, say). Each store answers in one query whatever the groups.
pub fn trends(
    store: Option<&Store>,
    archive: Option<&Archive>,
    sel: &Selector,
    group: Group<'_>,
    (since, until): (i64, i64),
    (step, shift): (i64, &Shift),
) -> Result<BTreeMap<String, Vec<Point>>, TrendError> {
    if group.is_empty() {
        return Ok(BTreeMap::new());
    }
    // Whole buckets only, so both stores cover the first bucket alike.
    let since = shift.start(shift.key(since, step));
    let watermark = archive.map(Archive::watermark).transpose()?.unwrap_or(0);
    let mut buckets: BTreeMap<(String, i64), Partial> = BTreeMap::new();
    let mut scale = None;
    let mut add = |(partials, s): Grouped| {
        scale = scale.or(s);
        for (g, p) in partials {
            buckets.entry((g, p.bucket)).and_modify(|b| b.merge(&p)).or_insert(p);
        }
    };
    // The two stores, and the pieces of a long hot-store range, are read at once: a week
    // in the hot store is a scan of millions of rows, and each connection uses one core.
    // With the archive read on this thread, every piece of a long hot range gets a thread of
    // its own; a short one (the hours at the defaults) is read here after it.
    let (from, to) = (since.max(watermark), until);
    let hot = if store.is_some() { pieces((from, to), cores()) } else { Vec::new() };
    let here = usize::from(archive.is_none() || to - from < PIECE);
    let (mine, theirs) = hot.split_at(here.min(hot.len()));
    let parts: Vec<Result<Grouped, TrendError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = match store.map(Store::path) {
            Some(path) => theirs
                .iter()
                .map(|&(from, to)| {
                    scope.spawn(move || Store::open_read_only(path)?.partials(sel, group, from, to, (step, shift)))
                })
                .collect(),
            None => Vec::new(),
        };
        let mut parts = Vec::new();
        if let Some(a) = archive {
            parts.push(a.partials(sel, group, since, until.min(watermark), (step, shift)).map_err(TrendError::from));
        }
        if let (Some(s), Some(&(from, to))) = (store, mine.first()) {
            parts.push(s.partials(sel, group, from, to, (step, shift)).map_err(TrendError::from));
        }
        // Every thread is joined before any error is returned: none scans on unwatched.
        let joined = handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        parts.extend(joined.map(|part| part.map_err(TrendError::from)));
        parts
    });
    for part in parts {
        add(part?);
    }
    let scale = scale.unwrap_or(1.0);
    let mut out: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for ((g, _), p) in buckets.into_iter().filter(|(_, p)| p.count > 0) {
        out.entry(g).or_default().push(Point {
            bucket: shift.start(p.bucket),
            min: p.min as f64 / scale,
            max: p.max as f64 / scale,
            avg: p.sum as f64 / p.count as f64 / scale,
            count: p.count,
        });
    }
    Ok(out)
}

/// Cores to read a long range with.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Hot-store ranges shorter than this are read in one piece.
const PIECE: i64 = 86_400;

/// `[from, until)` cut into at most `cores` pieces (at most 4) of at least [`PIECE`]
/// seconds each, oldest first; none when the range is empty.
fn pieces((from, until): (i64, i64), cores: usize) -> Vec<(i64, i64)> {
    if from >= until {
        return Vec::new();
    }
    let n = ((until - from) / PIECE).clamp(1, cores.clamp(1, 4) as i64);
    let width = (until - from + n - 1) / n;
    (0..n).map(|i| (from + i * width, (from + (i + 1) * width).min(until))).collect()
}

/// Every raw value of the series of `metrics` in `[from, until)`, from both stores joined
/// at the watermark (the archive's older values first), by series. For a few series only
/// (probes'): each value is read, none aggregated.
pub fn values(
    store: Option<&Store>,
    archive: Option<&Archive>,
    metrics: &[&crate::metrics::Metric],
    (from, until): (i64, i64),
) -> Result<Vec<crate::store::SeriesValues>, TrendError> {
    let watermark = archive.map(Archive::watermark).transpose()?.unwrap_or(0);
    let mut all = match archive {
        Some(a) if from < watermark => a.series_between(metrics, from, until.min(watermark))?,
        _ => Vec::new(),
    };
    for hot in store.map(|s| s.series_between(metrics, from.max(watermark), until)).transpose()?.unwrap_or_default() {
        match all.iter_mut().find(|s| s.key == hot.key) {
            Some(s) => {
                s.values.extend(hot.values);
                s.times.extend(hot.times);
            }
            None => all.push(hot),
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::{PIECE, TrendError, pieces};

    #[test]
    fn several_matching_series_are_named_in_the_askers_terms() {
        let examples = vec![r#"{"cpu":"0"}"#.to_owned(), r#"{"cpu":"1","core":"a"}"#.to_owned()];
        let e = TrendError::Ambiguous { selector: "cpu.usage_percent{}".into(), count: 3, examples };
        let cli = "3 series match cpu.usage_percent{}; pick one, e.g. --label cpu=0 or --label core=a --label cpu=1, or add them up with --sum";
        assert_eq!(e.to_string(), cli);
        let api = "3 series match cpu.usage_percent{}; pick one, e.g. label=cpu=0 or label=core=a&label=cpu=1";
        assert_eq!(e.as_parameters().unwrap(), api);
        let none = TrendError::NoSeries("disk.used_percent{}".into()).as_parameters().unwrap();
        assert!(none.ends_with("GET /api/series lists them"), "{none}");
    }

    #[test]
    fn a_long_range_is_cut_into_whole_pieces_that_cover_it_once() {
        assert_eq!(pieces((10, 10), 2), vec![], "an empty range has no piece");
        assert_eq!(pieces((0, PIECE - 1), 8), vec![(0, PIECE - 1)], "a short range is one piece");
        assert_eq!(pieces((0, 7 * PIECE + 1), 2), vec![(0, 3 * PIECE + 43_201), (3 * PIECE + 43_201, 7 * PIECE + 1)]);
        let four = pieces((5, 30 * PIECE), 16);
        assert_eq!(four.len(), 4, "at most 4 threads");
        assert!(four.windows(2).all(|w| w[0].1 == w[1].0) && four[0].0 == 5 && four[3].1 == 30 * PIECE);
        assert_eq!(pieces((0, 3 * PIECE), 0), vec![(0, 3 * PIECE)], "no core count reads in one piece");
    }
}
