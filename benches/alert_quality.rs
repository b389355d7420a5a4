//! Alert quality: the built-in rules backtested on a generated workstation week with
//! planted incidents (see `support/week.rs`), through the real hot store and the same
//! replay `hostwatch rules backtest` runs.
//!
//!     cargo bench --bench alert_quality
//!
//! `HOSTWATCH_BENCH_SEED` (default 7) picks another week: other build times and lengths.
//!
//! Prints, per day, the notices and the false alarms among them: notices with a change of
//! a rule that no planted incident explains, during it or in the hour after (goal: at most
//! 1 a day, so a normal day has at most 1 notice). Per planted incident, how long after its
//! series first crossed the rule's warning threshold (for at least the rule's `for` and
//! window: a blip the rule is meant to ignore is not the incident) the rule fired (goal:
//! every one caught, within 2x its `for`, or two sampling intervals for a rule without
//! one). And the notices in the 60 s after each morning's resume (goal: 0). Exits 1 if a
//! goal is missed. Where the defaults miss one, the defaults change (docs/ALERTS.md).

#[path = "support/quality.rs"]
mod quality;
#[path = "support/week.rs"]
mod week;

use week::{DAY, T0};

fn main() {
    let seed = std::env::var("HOSTWATCH_BENCH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let q = quality::measure(seed);
    println!(
        "Replayed a week (seed {seed}) of {} samples through {} built-in rules in {:.2} s.\n",
        q.samples, q.rules, q.replay_secs
    );
    println!("{:<4} {:>7} {:>12}  planted", "day", "notices", "false alarms");
    for (d, day) in q.days.iter().enumerate() {
        let verdict = if day.false_alarms <= 1 { "ok" } else { "MISSED (goal <= 1)" };
        let planted = if day.planted.is_empty() { "none: a normal day".to_owned() } else { day.planted.join(", ") };
        let name = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d];
        println!("{name:<4} {:>7} {:>12}  {planted}  {verdict}", day.notices, day.false_alarms);
    }
    println!("\n{:<26} {:<12} {:>6} {:>9} {:>8}  verdict", "incident", "rule", "for", "delay", "goal");
    for c in &q.caught {
        let delay = c.delay.map_or_else(|| "-".to_owned(), |d| format!("{d}s"));
        println!("{:<26} {:<12} {:>5}s {delay:>9} {:>7}s  {}", c.incident, c.rule, c.for_secs, c.goal, c.verdict);
    }
    println!("\nnotices in the 60 s after the {} resumes: {} (goal 0)", q.resumes, q.after_resume);
    println!("\nevents:");
    for e in &q.events {
        let when = e.at_ms / 1000 - T0;
        let (day, hour, minute) = (when / DAY, when % DAY / 3600, when % 3600 / 60);
        println!("  day {day} {hour:02}:{minute:02}  {} {} {} {:.1}", e.rule, e.kind.as_str(), e.series, e.value);
    }
    println!("\ngoals met: {}", if q.ok() { "yes" } else { "NO" });
    if !q.ok() {
        std::process::exit(1);
    }
}
