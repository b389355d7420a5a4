//! A trend fit that resists outliers: the Theil-Sen estimator (the median of the slopes
//! between every pair of points), with the quartiles of those slopes as a band.

/// A fitted line through `(t, v)` points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// The median slope, value per unit of `t`.
    pub slope: f64,
    /// The 25th and 75th percentile slopes: how sure the slope is.
    pub band: (f64, f64),
    /// The line's value at the last point's `t`.
    pub now: f64,
}

/// The Theil-Sen fit of `points` (sorted by `t`); `None` with fewer than 3 distinct times.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<Fit> {
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    for (i, &(t1, v1)) in points.iter().enumerate() {
        for &(t2, v2) in &points[i + 1..] {
            if t2 > t1 {
                slopes.push((v2 - v1) / (t2 - t1));
            }
        }
    }
    if slopes.len() < 3 {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let at = |q: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let i = ((slopes.len() - 1) as f64 * q).round() as usize;
        slopes[i]
    };
    let slope = at(0.5);
    // The intercept is the median of v - slope * t, read at the last time.
    let offset = crate::report::median(points.iter().map(|(t, v)| v - slope * t).collect());
    let last_t = points.last()?.0;
    Some(Fit { slope, band: (at(0.25), at(0.75)), now: offset + slope * last_t })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_do_not_bend_the_line() {
        let mut points: Vec<(f64, f64)> = (0..50).map(|t| (f64::from(t), 100.0 - 2.0 * f64::from(t))).collect();
        points[10].1 = 10_000.0;
        points[30].1 = -5_000.0;
        let fit = theil_sen(&points).unwrap();
        assert!((fit.slope + 2.0).abs() < 1e-9, "{fit:?}");
        assert!((fit.now - 2.0).abs() < 1e-9, "{fit:?}");
        assert!(fit.band.0 <= fit.slope && fit.slope <= fit.band.1);
        assert_eq!(theil_sen(&points[..2]), None);
    }
}
