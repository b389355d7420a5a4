//! User SQL at the door: how many statements a text holds and what its first word is, found
//! by a lexer that knows quotes and comments, so a check or a query is exactly one statement.
//!
//! Owns no connection; must not run anything. The engines' own `prepare` would execute every
//! statement but the last (the duckdb crate does), so counting comes first.

/// Why a text is not one statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// Only whitespace and comments.
    #[error("the SQL is empty")]
    Empty,
    /// More than one statement; `prepare` would run all but the last.
    #[error("the SQL holds {0} statements; give exactly one (a `;` may only end it)")]
    Several(usize),
    /// A quote or block comment that never closes.
    #[error("the SQL has an unterminated {0}")]
    Unterminated(&'static str),
}

/// The statements in `sql`: non-empty texts between `;` outside quotes and comments.
fn split(sql: &str) -> Result<Vec<&str>, SqlError> {
    let b = sql.as_bytes();
    let (mut out, mut start, mut i) = (Vec::new(), 0, 0);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                // E'...' strings take backslash escapes; everywhere a doubled quote is one.
                let e_prefix = i > 0 && b[i - 1].eq_ignore_ascii_case(&b'e');
                let escapes = b[i] == b'\'' && e_prefix && (i < 2 || !b[i - 2].is_ascii_alphanumeric());
                i = close_quote(b, i, escapes).ok_or(SqlError::Unterminated("quote"))?;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p + 1);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = sql[i + 2..].find("*/").ok_or(SqlError::Unterminated("comment"))?;
                i += end + 4;
            }
            b'$' => match dollar_tag(&sql[i..]) {
                Some(tag) => {
                    let body = i + tag.len();
                    let end = sql[body..].find(tag).ok_or(SqlError::Unterminated("dollar quote"))?;
                    i = body + end + tag.len();
                }
                None => i += 1,
            },
            b';' => {
                push(&sql[start..i], &mut out);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    push(&sql[start..], &mut out);
    Ok(out)
}

/// Keeps `s` as a statement if it holds any code.
fn push<'a>(s: &'a str, out: &mut Vec<&'a str>) {
    if has_code(s) {
        out.push(s.trim());
    }
}

/// The index just past the quote that closes the one at `open`.
fn close_quote(b: &[u8], open: usize, escapes: bool) -> Option<usize> {
    let q = b[open];
    let mut i = open + 1;
    while i < b.len() {
        // A backslash escape, or a doubled quote: two bytes that do not close the string.
        if (escapes && b[i] == b'\\') || (b[i] == q && b.get(i + 1) == Some(&q)) {
            i += 2;
        } else if b[i] == q {
            return Some(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// `$$` or `$tag$` at the start of `s`, if it opens a dollar-quoted string.
fn dollar_tag(s: &str) -> Option<&str> {
    let rest = &s[1..];
    let len = rest.find('$')?;
    rest[..len].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_').then(|| &s[..len + 2])
}

/// Whether `s` holds anything but whitespace and comments.
fn has_code(s: &str) -> bool {
    !strip_comments(s).trim().is_empty()
}

/// `s` from its first character that is not whitespace or inside a leading comment.
fn strip_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.find('\n').map_or("", |p| &rest[p + 1..]);
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.find("*/").map_or("", |p| &rest[p + 2..]);
        } else {
            return s;
        }
    }
}

/// The one statement in `sql`, without a trailing `;`; an error if there are none or several.
pub fn single(sql: &str) -> Result<&str, SqlError> {
    match split(sql)?.as_slice() {
        [] => Err(SqlError::Empty),
        [one] => Ok(one),
        many => Err(SqlError::Several(many.len())),
    }
}

/// The statement's first keyword, upper-cased (`SELECT`, `WITH`, `PRAGMA`...).
pub fn first_keyword(statement: &str) -> String {
    strip_comments(statement).split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or_default().to_ascii_uppercase()
}

/// One value of a result, in the few shapes that text, CSV and JSON need.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer that fits.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// Everything else, already formatted (text, times, intervals), as DuckDB prints it.
    Text(String),
    /// A list, struct, map or union: DuckDB's text for people and its JSON for machines.
    Nested {
        /// As the DuckDB CLI prints it: `[1.5, 2.0]`, `{'a': 1}`.
        text: String,
        /// As DuckDB's `to_json` writes it.
        json: String,
    },
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => Ok(()),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(x) => write!(f, "{x}"),
            Cell::Text(s) | Cell::Nested { text: s, .. } => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_may_end_with_a_semicolon_and_comments() {
        assert_eq!(single("SELECT 1;  -- done\n"), Ok("SELECT 1"));
        assert_eq!(
            single("/* a; b */ SELECT ';' AS x, \"a;b\" FROM t"),
            Ok("/* a; b */ SELECT ';' AS x, \"a;b\" FROM t")
        );
        assert_eq!(single("SELECT 'it''s; fine'"), Ok("SELECT 'it''s; fine'"));
        assert_eq!(single("SELECT $$ ; $$, $q$ ; $q$"), Ok("SELECT $$ ; $$, $q$ ; $q$"));
        assert_eq!(single("SELECT E'\\'; still the string'"), Ok("SELECT E'\\'; still the string'"));
    }

    #[test]
    fn several_statements_are_counted_wherever_they_hide() {
        assert_eq!(single("COPY (SELECT 'x') TO '/tmp/f'; SELECT 1"), Err(SqlError::Several(2)));
        assert_eq!(single("ATTACH 'a.duckdb' AS a; DELETE FROM a.raw; SELECT 1"), Err(SqlError::Several(3)));
        assert_eq!(single("SELECT 1 -- x\n; SELECT 2"), Err(SqlError::Several(2)));
        assert_eq!(single("SELECT 'a''; b'; SELECT 2"), Err(SqlError::Several(2)));
    }

    #[test]
    fn empty_and_unterminated_texts_are_refused() {
        assert_eq!(single(" ; -- nothing\n;"), Err(SqlError::Empty));
        assert_eq!(single("SELECT 'open; SELECT 2"), Err(SqlError::Unterminated("quote")));
        assert_eq!(single("SELECT 1 /* open; SELECT 2"), Err(SqlError::Unterminated("comment")));
    }

    #[test]
    fn the_first_keyword_skips_comments() {
        assert_eq!(first_keyword("-- why\n /* x */ pragma journal_mode = DELETE"), "PRAGMA");
        assert_eq!(first_keyword("with x AS (SELECT 1) SELECT * FROM x"), "WITH");
    }
}
