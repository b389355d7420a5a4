//! Temperatures from the kernel's hardware-monitoring class, `/sys/class/hwmon`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::rate::TickCtx;
use super::{CollectError, Collector, class_entries};
use crate::metrics::{self as m, Sample, SeriesKey};

/// One temperature reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The chip's name (`coretemp`, `nvme`), with `.N` added when several chips share it.
    pub sensor: String,
    /// The input's label (`Package id 0`), or its file stem (`temp1`) when it has none.
    pub label: String,
    /// Degrees Celsius.
    pub celsius: f64,
}

/// Reads every `temp*_input` under `dir` (the hwmon class directory), chips in name order.
pub fn read_all(dir: &Path) -> Result<Vec<Reading>, CollectError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for chip in class_entries(dir)? {
        let Ok(name) = std::fs::read_to_string(chip.join("name")) else { continue };
        let name = name.trim().to_owned();
        let n = seen.entry(name.clone()).or_insert(0);
        *n += 1;
        let sensor = if *n == 1 { name } else { format!("{name}.{n}") };
        let Ok(files) = std::fs::read_dir(&chip) else { continue };
        let mut inputs: Vec<String> = files
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| f.starts_with("temp") && f.ends_with("_input"))
            .collect();
        inputs.sort();
        for input in inputs {
            // A sensor that is asleep or absent returns an error on read: skip it this tick.
            let Some(milli) =
                std::fs::read_to_string(chip.join(&input)).ok().and_then(|s| s.trim().parse::<i64>().ok())
            else {
                continue;
            };
            let stem = input.trim_end_matches("_input");
            let label = std::fs::read_to_string(chip.join(format!("{stem}_label")))
                .map(|l| l.trim().to_owned())
                .unwrap_or_else(|_| stem.to_owned());
            out.push(Reading { sensor: sensor.clone(), label, celsius: milli as f64 / 1000.0 });
        }
    }
    Ok(out)
}

/// Every hwmon temperature input under `<sys_root>/class/hwmon`.
pub struct Temperatures {
    dir: PathBuf,
}

impl Temperatures {
    /// Reads `<sys_root>/class/hwmon`.
    pub fn new(sys_root: &Path) -> Self {
        Temperatures { dir: sys_root.join("class/hwmon") }
    }
}

impl Collector for Temperatures {
    fn name(&self) -> &'static str {
        "temperatures"
    }

    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError> {
        let ts = ctx.ts();
        for r in read_all(&self.dir)? {
            let key = SeriesKey::labelled(&m::TEMP, vec![("sensor", r.sensor), ("label", r.label)]);
            out.push(Sample { key, ts, value: r.celsius });
        }
        Ok(())
    }
}
