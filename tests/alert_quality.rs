//! The built-in rules held to the alert-quality goals on a generated workstation week
//! (`benches/support/week.rs`; `cargo bench --bench alert_quality` prints the figures): a
//! change to the defaults that brings back build-time false alarms, misses a planted
//! incident or notifies right after a resume fails here.

use crate::quality::measure;

#[test]
fn the_default_rules_meet_the_alert_quality_goals_on_a_workstation_week() {
    for seed in [7, 2] {
        let q = measure(seed);
        let days: Vec<(usize, usize)> = q.days.iter().map(|d| (d.notices, d.false_alarms)).collect();
        let caught: Vec<(&str, &str, Option<i64>)> =
            q.caught.iter().map(|c| (c.incident, c.verdict, c.delay)).collect();
        assert!(
            q.ok(),
            "seed {seed}: days (notices, false alarms) {days:?}; incidents {caught:?}; {} after resumes",
            q.after_resume
        );
        assert!(q.days[0].notices <= 1 && q.days[6].notices <= 1, "the normal days: {days:?}");
    }
}
