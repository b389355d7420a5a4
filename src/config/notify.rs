//! Validates `[notify]`: the desktop switch, quiet hours, retries and the webhooks.

use std::time::Duration;

use chrono::NaiveTime;

use super::error::{ConfigError, Locator};
use super::raw::{RawNotify, RawWebhook, SpannedStr};
use super::validate::{DurationKey, HOUR, MINUTE, SECOND, choice, headers, is_name};
use crate::notify::{DESKTOP, Format, QuietHours, Settings, Webhook};

/// Validates the `[notify]` table.
pub fn notify(raw: RawNotify, loc: &Locator) -> Result<Settings, ConfigError> {
    let retry_max = DurationKey { name: "notify.retry_max", default: 5 * MINUTE, min: SECOND, max: HOUR };
    let webhooks = raw
        .webhooks
        .into_iter()
        .map(|(name, w)| {
            let at = name.span().start;
            let name = name.into_inner();
            if name == DESKTOP || !is_name(&name) {
                return Err(loc.error(
                    at,
                    format!(
                        "notify.webhooks.{name:?}: a webhook name is letters, digits, _ and -, and not \"{DESKTOP}\""
                    ),
                ));
            }
            webhook(name, w, loc)
        })
        .collect::<Result<_, _>>()?;
    Ok(Settings {
        desktop: raw.desktop.unwrap_or(true),
        quiet_hours: raw.quiet_hours.as_ref().map(|q| quiet_hours(q, loc)).transpose()?,
        critical_breaks_quiet: raw.critical_breaks_quiet.unwrap_or(true),
        retry_max: retry_max.get(raw.retry_max.as_ref(), loc)?,
        webhooks,
    })
}

fn webhook(name: String, w: RawWebhook, loc: &Locator) -> Result<Webhook, ConfigError> {
    let key = format!("notify.webhooks.{name}");
    let timeout_key = format!("{key}.timeout");
    let timeout =
        DurationKey { name: &timeout_key, default: 10 * SECOND, min: Duration::from_millis(100), max: MINUTE };
    let url = reqwest::Url::parse(w.url.get_ref())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            loc.error(w.url.span().start, format!("{key}.url = {:?} is not an http(s) URL", w.url.get_ref()))
        })?;
    let format = choice(&format!("{key}.format"), w.format.as_ref(), Format::ALL, loc)?;
    let headers = headers(&key, w.headers, loc)?;
    let secret = match w.secret {
        Some(s) if s.get_ref().is_empty() => {
            return Err(loc.error(s.span().start, format!("{key}.secret is empty: remove it or set a secret")));
        }
        s => s.map(toml::Spanned::into_inner),
    };
    Ok(Webhook { name, url, format, headers, secret, timeout: timeout.get(w.timeout.as_ref(), loc)? })
}

/// `"22:00-07:00"`
fn quiet_hours(raw: &SpannedStr, loc: &Locator) -> Result<QuietHours, ConfigError> {
    let parse = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
    let (start, end) =
        raw.get_ref().split_once('-').and_then(|(a, b)| Some((parse(a)?, parse(b)?))).ok_or_else(|| {
            loc.error(
                raw.span().start,
                format!("notify.quiet_hours = {:?}: write local times like \"22:00-07:00\"", raw.get_ref()),
            )
        })?;
    if start == end {
        return Err(loc.error(raw.span().start, format!("notify.quiet_hours = {:?} is empty", raw.get_ref())));
    }
    Ok(QuietHours { start, end })
}
