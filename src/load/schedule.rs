//! A run's schedule: the level (users, or requests per second) at each moment of a step,
//! linear from the step before over its ramp, then flat; and for the open model, when each
//! request leaves, so that the requests sent by any moment are the rate's integral up to it.

use std::time::Duration;

use super::Step;

/// The level `at` into a step: linear from `from` over its ramp, then the step's.
pub fn level_at(step: &Step, from: u32, at: Duration) -> f64 {
    if at >= step.ramp_up || step.ramp_up.is_zero() {
        return f64::from(step.level);
    }
    let share = at.as_secs_f64() / step.ramp_up.as_secs_f64();
    f64::from(from) + (f64::from(step.level) - f64::from(from)) * share
}

/// Requests the open model's schedule holds in the first `took` of a step: the rate's
/// integral, a trapezoid over the ramp and a rectangle after it.
pub fn planned(step: &Step, from: u32, took: Duration) -> f64 {
    let ramp = step.ramp_up.min(took);
    let at_ramp_end = level_at(step, from, ramp);
    let after = took.saturating_sub(ramp).as_secs_f64();
    (f64::from(from) + at_ramp_end) / 2.0 * ramp.as_secs_f64() + f64::from(step.level) * after
}

/// Seconds into a step at which request `n` of it leaves (counted from 0, and from a
/// fraction when the step before left one): where [`planned`] reaches `n`, solving the
/// ramp's quadratic; `None` if the step ends first.
pub fn nth_send(step: &Step, from: u32, n: f64) -> Option<f64> {
    let (ramp, a, level) = (step.ramp_up.as_secs_f64(), f64::from(from), f64::from(step.level));
    let in_ramp = (a + level) / 2.0 * ramp;
    let slope = if ramp > 0.0 { (level - a) / ramp } else { 0.0 };
    let t = if n <= in_ramp && ramp > 0.0 {
        // a t + slope t² / 2 = n, the root where the rate is still positive.
        if slope.abs() < 1e-9 { n / a } else { (-a + (a * a + 2.0 * slope * n).max(0.0).sqrt()) / slope }
    } else if level > 0.0 {
        ramp + (n - in_ramp) / level
    } else {
        return None;
    };
    (t < step.duration.as_secs_f64()).then_some(t)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{nth_send, planned};
    use crate::load::Step;

    fn step(level: u32, ramp: u64, duration: u64) -> Step {
        Step { level, ramp_up: Duration::from_secs(ramp), duration: Duration::from_secs(duration) }
    }

    /// Requests of a step that leave before it ends, and the fraction carried to the next.
    fn sends(step: &Step, from: u32, mut n: f64) -> (Vec<f64>, f64) {
        let mut at = Vec::new();
        while let Some(t) = nth_send(step, from, n) {
            at.push(t);
            n += 1.0;
        }
        (at, n - planned(step, from, step.duration))
    }

    #[test]
    fn a_ramp_from_nothing_sends_what_its_rate_adds_up_to() {
        // 0 to 20 rps over 1 s, then 4 s at 20: 10 + 80 requests.
        let s = step(20, 1, 5);
        let (at, carried) = sends(&s, 0, 0.0);
        assert_eq!(at.len(), 90);
        assert!(carried.abs() < 1e-9);
        // The first leaves at once, the second when 1 request's worth has accrued: sqrt(2/20).
        assert_eq!(at[0], 0.0);
        assert!((at[1] - 0.1_f64.sqrt()).abs() < 1e-9, "{}", at[1]);
        assert_eq!(at.iter().filter(|&&t| t < 1.0).count(), 10, "10 in the ramp");
        assert!(at.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ramps_down_flat_steps_and_fractions_carry_over() {
        // 10 rps, then down to 4 over 2 s (14 requests) and 4 s at 4 (16).
        let (at, carried) = sends(&step(4, 2, 6), 10, 0.0);
        assert_eq!((at.len(), carried), (30, 0.0));
        assert!(at.windows(2).all(|w| w[0] < w[1]));
        // 5 rps for 1.5 s holds 7.5 requests: 8 leave, the last half a request early, and
        // the next step's first leaves half a request's time in.
        let half = Step { level: 5, ramp_up: Duration::ZERO, duration: Duration::from_millis(1500) };
        let (at, carried) = sends(&half, 5, 0.0);
        assert_eq!((at.len(), carried), (8, 0.5));
        assert_eq!(nth_send(&half, 5, carried), Some(0.1), "the next step's first leaves 0.1 s in");
    }
}
