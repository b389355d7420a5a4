//! How a command's failure reaches the user: one line on stderr that says each thing once,
//! and the exit code the README's rule gives it (a closed pipe is no failure).

/// Whether a failure is only that stdout was closed early (`hostwatch series | head`):
/// not a failure at all, so it exits 0 quietly.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let pipe = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(pipe)
            || e.downcast_ref::<csv::Error>().is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(io) if pipe(io)))
    })
}

/// A command asked for something that cannot exist (exit 2), like an unknown channel.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Whether a failure was the user's input (exit 2) or the program's work (exit 1).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let usage = |e: &(dyn std::error::Error + 'static)| {
        e.is::<crate::config::ConfigError>()
            || e.is::<UsageError>()
            || matches!(
                e.downcast_ref(),
                Some(crate::trend::TrendError::NoSeries(_) | crate::trend::TrendError::Ambiguous { .. })
            )
            || matches!(
                e.downcast_ref(),
                Some(crate::archive::ArchiveError::ReadOnly(_) | crate::archive::ArchiveError::BadSql(_))
            )
    };
    if err.chain().any(usage) { 2 } else { 1 }
}

/// Says why a command failed, on stderr (never panicking on a closed one).
pub fn report_failure(err: &anyhow::Error) {
    errln!("hostwatch: {}", once(err));
}

/// An error and its causes in one line, each thing said once: a cause whose text (or whose
/// last part, as in SQLite's `Error code 14: unable to open database file`) the line
/// already holds is left out, as libraries often repeat their source in their own message.
fn once(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let last = text.rsplit(": ").next().unwrap_or(&text);
        // DuckDB's and SQLite's own error codes ("Error code 1: Unknown error code") say
        // nothing the message before them did not.
        let code = !line.is_empty() && text.starts_with("Error code ");
        if code || line.contains(&text) || (!last.trim().is_empty() && line.contains(last)) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
