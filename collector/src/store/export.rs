//! NDJSON export of the raw events of a time window (`perfwatch-collector export`): one JSON
//! object per stored row, with a `type` (`page_view`, `web_vital`, `navigation`, `api_call`,
//! `ai_call`, `browser_timing`, `browser_error`) and the row's
//! columns by name (keys in alphabetical order), rows ordered by time within each type. The
//! same queries serve both stores.

use std::io::Write;

/// What is exported: the event type, its table and the column that dates it.
pub const TABLES: [(&str, &str, &str); 7] = [
    ("page_view", "page_views", "started_at_ms"),
    ("web_vital", "web_vitals", "measured_at_ms"),
    ("navigation", "navigations", "started_at_ms"),
    ("api_call", "api_calls", "at_ms"),
    ("ai_call", "ai_calls", "at_ms"),
    ("browser_timing", "browser_timings", "at_ms"),
    ("browser_error", "browser_errors", "at_ms"),
];

/// The query for `table` between two bound parameters spelled `from` and `to` (`?1`/`?2` for
/// SQLite, `$1`/`$2` for PostgreSQL).
pub fn query(table: &str, time_column: &str, from: &str, to: &str) -> String {
    format!(
        "SELECT * FROM {table} WHERE {time_column} >= {from} AND {time_column} < {to} \
         ORDER BY {time_column}"
    )
}

/// Writes one exported row as a line: `{"type": ..., column: value, ...}`, keys sorted.
pub fn write_line(
    out: &mut dyn Write,
    kind: &str,
    columns: impl IntoIterator<Item = (String, serde_json::Value)>,
) -> std::io::Result<()> {
    let mut object = serde_json::Map::new();
    object.insert("type".to_owned(), kind.into());
    object.extend(columns);
    serde_json::to_writer(&mut *out, &object)?;
    out.write_all(b"\n")
}
