//! A notice in each webhook format: the body and the headers that go with it.

use serde_json::json;

use super::{Format, Notice};
use crate::rules::Severity;

/// A request body ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The bytes of the body.
    pub body: Vec<u8>,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Format-specific headers (ntfy's title and priority).
    pub headers: Vec<(&'static str, String)>,
}

/// Discord embed colours: red, amber, green.
fn colour(severity: Option<Severity>) -> u32 {
    match severity {
        Some(Severity::Critical) => 0x00d9_3025,
        Some(Severity::Warning) => 0x00f2_a900,
        None => 0x002e_a043,
    }
}

/// Renders `notice` as `format` wants it.
pub fn render(notice: &Notice, format: Format) -> Rendered {
    let json_body = |v: serde_json::Value| Rendered {
        body: v.to_string().into_bytes(),
        content_type: "application/json",
        headers: Vec::new(),
    };
    match format {
        Format::Json => Rendered {
            body: serde_json::to_vec(notice).expect("a notice is plain data"),
            content_type: "application/json",
            headers: Vec::new(),
        },
        Format::Slack => json_body(json!({ "text": format!("*{}*\n{}", notice.summary, notice.lines()) })),
        Format::Discord => json_body(json!({
            "content": notice.summary,
            "embeds": [{
                "title": notice.summary,
                "description": notice.lines(),
                "color": colour(notice.severity()),
                "timestamp": notice.created_at,
            }],
        })),
        Format::Ntfy => {
            let (priority, tag) = match notice.severity() {
                Some(Severity::Critical) => ("5", "rotating_light"),
                Some(Severity::Warning) => ("4", "warning"),
                None => ("3", "white_check_mark"),
            };
            Rendered {
                body: notice.lines().into_bytes(),
                content_type: "text/plain; charset=utf-8",
                headers: vec![
                    ("Title", notice.summary.clone()),
                    ("Priority", priority.to_owned()),
                    ("Tags", tag.to_owned()),
                ],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_carries_the_summary_and_the_lines() {
        let notice = Notice::test("box", 1_700_000_000_000);
        let text = |f| String::from_utf8(render(&notice, f).body).unwrap();
        let slack: serde_json::Value = serde_json::from_str(&text(Format::Slack)).unwrap();
        assert!(slack["text"].as_str().unwrap().starts_with("*hostwatch test notification from box*\n"));
        let discord: serde_json::Value = serde_json::from_str(&text(Format::Discord)).unwrap();
        assert_eq!(discord["embeds"][0]["color"], colour(Some(Severity::Warning)));
        let generic: Notice = serde_json::from_str(&text(Format::Json)).unwrap();
        assert_eq!(generic, notice);
        let ntfy = render(&notice, Format::Ntfy);
        assert_eq!(ntfy.headers[1], ("Priority", "4".to_owned()));
        assert!(text(Format::Ntfy).contains("this channel works"));
    }
}
