//! Lists for people or for scripts: one set of rows printed as an aligned table, as CSV or
//! as JSON. JSON is an array of objects with the columns' snake_case names as keys, in
//! column order; times are RFC 3339 with the local offset, numbers are numbers, a missing
//! value is `null`. The shapes are documented in README's command table.

use anyhow::Result;

use super::show::{local, table};
use crate::cli::Format;
use crate::units::local_rfc3339;

/// One cell.
pub enum Field {
    /// Text, the same for people and scripts.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number, and how people see it (with its unit, rounded).
    Num(f64, String),
    /// Unix seconds.
    Time(i64),
    /// Nothing: people see this word (`never`, `-`), scripts `null`.
    Absent(&'static str),
    /// For scripts only (the table has no column for it): labels as an object, say.
    Json(serde_json::Value),
}

impl Field {
    /// Text, or nothing as `-`.
    pub fn text(s: Option<impl Into<String>>) -> Field {
        s.map_or(Field::Absent("-"), |s| Field::Text(s.into()))
    }

    fn shown(&self) -> Option<String> {
        match self {
            Field::Text(s) | Field::Num(_, s) => Some(s.clone()),
            Field::Int(i) => Some(i.to_string()),
            Field::Time(t) => Some(local(*t)),
            Field::Absent(word) => Some((*word).to_owned()),
            Field::Json(_) => None,
        }
    }

    fn written(&self) -> String {
        match self {
            Field::Time(t) => local_rfc3339(*t),
            // Scripts read the number; its unit has a column of its own.
            Field::Num(v, _) => v.to_string(),
            Field::Json(serde_json::Value::String(s)) => s.clone(),
            Field::Json(serde_json::Value::Null) => String::new(),
            Field::Json(v) => v.to_string(),
            Field::Absent(_) => String::new(),
            other => other.shown().unwrap_or_default(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Field::Text(s) => s.clone().into(),
            Field::Int(i) => (*i).into(),
            Field::Num(x, _) => serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into),
            Field::Time(t) => local_rfc3339(*t).into(),
            Field::Absent(_) => serde_json::Value::Null,
            Field::Json(v) => v.clone(),
        }
    }
}

/// Rows under named columns.
pub struct Listing {
    columns: &'static [&'static str],
    rows: Vec<Vec<Field>>,
}

impl Listing {
    /// An empty listing with these columns (snake_case; tables show them in capitals).
    pub fn new(columns: &'static [&'static str]) -> Listing {
        Listing { columns, rows: Vec::new() }
    }

    /// Adds a row, one field per column.
    pub fn push(&mut self, row: Vec<Field>) {
        debug_assert_eq!(row.len(), self.columns.len(), "a field per column");
        self.rows.push(row);
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows as a JSON array of objects, keys in column order.
    pub fn json(&self) -> String {
        objects(self.columns.iter().copied(), self.rows.iter().map(|r| r.iter().map(Field::json).collect()))
    }

    /// The table people read: the columns scripts alone get are left out.
    pub fn table(&self) -> String {
        let shown: Vec<usize> = (0..self.columns.len())
            .filter(|&i| self.rows.first().is_none_or(|r| !matches!(r[i], Field::Json(_))))
            .collect();
        let header: Vec<String> = shown.iter().map(|&i| self.columns[i].to_uppercase().replace('_', " ")).collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> =
            self.rows.iter().map(|r| shown.iter().map(|&i| r[i].shown().unwrap_or_default()).collect()).collect();
        table(&header, &rows)
    }

    /// Prints the listing in `format`.
    pub fn print(&self, format: Format) -> Result<()> {
        match format {
            Format::Table => out!("{}", self.table()),
            Format::Json => outln!("{}", self.json()),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(std::io::stdout());
                w.write_record(self.columns)?;
                for row in &self.rows {
                    w.write_record(row.iter().map(Field::written))?;
                }
                w.flush()?;
            }
        }
        Ok(())
    }
}

/// A JSON array of objects, one a line, with `columns` as the keys in their order (a
/// `serde_json` map would sort them).
pub fn objects<'a>(
    columns: impl Iterator<Item = &'a str> + Clone,
    rows: impl Iterator<Item = Vec<serde_json::Value>>,
) -> String {
    let mut text = String::from("[");
    for (i, row) in rows.enumerate() {
        let fields: Vec<String> =
            columns.clone().zip(row).map(|(name, v)| format!("{}: {v}", serde_json::Value::from(name))).collect();
        text.push_str(if i == 0 { "\n  {" } else { ",\n  {" });
        text.push_str(&fields.join(", "));
        text.push('}');
    }
    text.push_str(if text.len() == 1 { "]" } else { "\n]" });
    text
}
