//! Battery charge, status and time to empty from `/sys/class/power_supply`.

use std::path::{Path, PathBuf};

use super::rate::TickCtx;
use super::{CollectError, Collector, class_entries};
use crate::metrics::{self as m, Sample, SeriesKey};

/// What a battery reports.
#[derive(Debug, Clone, PartialEq)]
pub struct BatteryState {
    /// The supply's directory name (`BAT0`).
    pub name: String,
    /// Charge in percent.
    pub charge_percent: f64,
    /// 1 charging, 0 full or idle, -1 discharging.
    pub status: i8,
    /// Seconds to empty at the present draw, while discharging.
    pub time_to_empty_s: Option<f64>,
}

/// Reads a numeric attribute of a supply; absent or unreadable is `None` (drivers differ).
fn number(dir: &Path, attr: &str) -> Option<f64> {
    std::fs::read_to_string(dir.join(attr)).ok()?.trim().parse().ok()
}

/// Reads one supply directory; `None` if it is not a system battery (mains, USB, a mouse).
pub fn read_supply(dir: &Path) -> Option<BatteryState> {
    let text = |attr: &str| std::fs::read_to_string(dir.join(attr)).map(|s| s.trim().to_owned());
    if text("type").ok()? != "Battery" || text("scope").is_ok_and(|s| s == "Device") {
        return None;
    }
    // Energy (µWh, µW) or charge (µAh, µA) depending on the driver; both give the same ratios.
    let (now, full, draw) = match number(dir, "energy_now") {
        Some(now) => (Some(now), number(dir, "energy_full"), number(dir, "power_now")),
        None => (number(dir, "charge_now"), number(dir, "charge_full"), number(dir, "current_now")),
    };
    let charge_percent = match (now, full) {
        (Some(now), Some(full)) if full > 0.0 => (now * 100.0 / full).min(100.0),
        _ => number(dir, "capacity")?,
    };
    let status = match text("status").ok().as_deref() {
        Some("Charging") => 1,
        Some("Discharging") => -1,
        _ => 0,
    };
    // Some drivers report the draw as negative while discharging.
    let time_to_empty_s = match (status, now, draw.map(f64::abs)) {
        (-1, Some(now), Some(draw)) if draw > 0.0 => Some(now / draw * 3600.0),
        _ => None,
    };
    let name = dir.file_name()?.to_string_lossy().into_owned();
    Some(BatteryState { name, charge_percent, status, time_to_empty_s })
}

/// The first system battery under `<sys_root>/class/power_supply` that is discharging: the
/// host runs on battery.
pub fn discharging(sys_root: &Path) -> Option<BatteryState> {
    let dir = sys_root.join("class/power_supply");
    class_entries(&dir).ok()?.iter().filter_map(|d| read_supply(d)).find(|b| b.status == -1)
}

/// Every system battery under `<sys_root>/class/power_supply`.
pub struct Battery {
    dir: PathBuf,
}

impl Battery {
    /// Reads `<sys_root>/class/power_supply`.
    pub fn new(sys_root: &Path) -> Self {
        Battery { dir: sys_root.join("class/power_supply") }
    }
}

impl Collector for Battery {
    fn name(&self) -> &'static str {
        "battery"
    }

    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError> {
        let ts = ctx.ts();
        for b in class_entries(&self.dir)?.iter().filter_map(|dir| read_supply(dir)) {
            let key = |metric| SeriesKey::with(metric, "battery", b.name.clone());
            out.push(Sample { key: key(&m::BATTERY_CHARGE), ts, value: b.charge_percent });
            out.push(Sample { key: key(&m::BATTERY_STATUS), ts, value: f64::from(b.status) });
            if let Some(t) = b.time_to_empty_s {
                out.push(Sample { key: key(&m::BATTERY_TIME_TO_EMPTY), ts, value: t });
            }
        }
        Ok(())
    }
}
