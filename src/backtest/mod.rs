//! Backtests: stored history replayed through the rule engine the agent runs, to see what a
//! rule would have announced on this host before it is switched on.
//!
//! Owns the replay's rules: time is the samples' own (each group of samples of one second
//! is a tick at that second, as the agent stamps them); the agent's starts (from the hot
//! store's runs) rebuild the engine from its alerts and hold announcements for the grace
//! period, as a start does; a clock jump the agent recorded, or a silence of the system
//! schedule longer than the gap bound where no record says why, holds them as a resume
//! does. The replay starts as if the agent had started at its first second. Must not write
//! either store nor read the clock.

mod history;
mod replay;
mod summary;

use std::time::Duration;

pub use history::Coverage;
pub use replay::Replay;
pub use summary::{RuleSummary, Summary};

use crate::archive::{Archive, ArchiveError};
use crate::rules::{Engine, Event, Rule};
use crate::store::{Store, StoreError};

/// How the agent runs its rules: what a replay needs to run them the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// The rules, in config order.
    pub rules: Vec<Rule>,
    /// Logical CPUs, for per-core rules.
    pub cores: usize,
    /// Announce a still-firing alert again this often.
    pub repeat: Option<Duration>,
    /// A series silent this long is gone: its alerts resolve.
    pub stale: Duration,
    /// After a start or a resume, nothing is announced for this long.
    pub grace: Duration,
    /// The system schedule's interval: a silence of more than
    /// [`crate::collect::rate::GAP_FACTOR`] of them is a gap.
    pub interval: Duration,
}

impl Setup {
    /// A fresh engine for these rules, as the agent builds one at its start.
    pub fn engine(&self) -> Engine {
        Engine::new(self.rules.clone(), self.cores, self.repeat, self.stale)
    }

    /// The same setup with only `rules`.
    pub fn with_rules(&self, rules: Vec<Rule>) -> Setup {
        Setup { rules, ..self.clone() }
    }
}

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The span is empty or reversed.
    #[error("nothing to replay: the span from {since} to {until} is empty (--since must be before --until)")]
    EmptySpan {
        /// RFC 3339.
        since: String,
        /// RFC 3339.
        until: String,
    },
    /// The hot store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The archive failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// What a backtest found.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// Unix seconds: the span replayed, `[since, until)`.
    pub since: i64,
    /// Unix seconds, exclusive.
    pub until: i64,
    /// Every change the rules would have announced, in order.
    pub events: Vec<Event>,
    /// Per rule and per notice.
    pub summary: Summary,
    /// Where the history was raw, where only one-minute means remained, and where none was.
    pub coverage: Coverage,
}

/// Replays `[since, until)` of the history in `store` and `archive` (joined at the
/// archive's watermark) through `setup`'s rules, a day at a time.
pub fn backtest(
    store: Option<&Store>,
    archive: Option<&Archive>,
    setup: &Setup,
    since: i64,
    until: i64,
) -> Result<Backtest, BacktestError> {
    if since >= until {
        let at = |s: i64| crate::units::rfc3339(s * 1000);
        return Err(BacktestError::EmptySpan { since: at(since), until: at(until) });
    }
    let reader = history::Reader::new(store, archive, setup)?;
    let mut replay = Replay::new(setup, since);
    let mut coverage = Coverage::default();
    let mut day = since;
    while day < until {
        let end = (day + history::DAY).min(until);
        let chunk = reader.read(day, end, &mut coverage)?;
        replay.feed(&chunk);
        day = end;
    }
    let (events, summary) = replay.finish(until);
    Ok(Backtest { since, until, events, summary, coverage })
}
