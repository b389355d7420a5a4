//! Shows a notice as a native desktop notification (freedesktop D-Bus on Linux).

use notify_rust::{Notification, Timeout, Urgency};

use super::{DeliveryError, Notice};
use crate::rules::Severity;

/// Shows `notice` on the session's notification server; urgency follows its severity, and
/// a critical one stays until dismissed.
pub async fn show(notice: &Notice) -> Result<(), DeliveryError> {
    let (urgency, icon, timeout) = match notice.severity() {
        Some(Severity::Critical) => (Urgency::Critical, "dialog-error", Timeout::Never),
        Some(Severity::Warning) => (Urgency::Normal, "dialog-warning", Timeout::Default),
        None => (Urgency::Low, "dialog-information", Timeout::Default),
    };
    let mut n = Notification::new();
    n.appname("hostwatch").summary(&notice.summary).body(&notice.lines()).icon(icon).timeout(timeout);
    #[cfg(all(unix, not(target_os = "macos")))]
    n.urgency(urgency);
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let _ = urgency;
    n.show_async().await.map(drop).map_err(|e| DeliveryError::Retry(format!("desktop notification: {e}")))
}
