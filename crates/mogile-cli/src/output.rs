//! What goes to stdout: text for people, or JSON (one document per command; one document per
//! line for `ls`). Both renderings come from the same data, so they never disagree.
//!
//! Values are mostly the tracker's text. In text output every string value is shown with
//! [`display`], quoted for a shell where needed (a key as JSON, `{"hex": ...}`, is shown as its
//! bytes would be), and every line is checked once more for control characters before it is
//! written ([`safe_line`]); JSON escapes them itself.

use std::io::{BufWriter, Stdout, Write};

use serde_json::{Map, Value};

use crate::exit::Failure;
use crate::key_text::{display, safe_line};

/// Buffered stdout, in text or JSON mode.
#[derive(Debug)]
pub(crate) struct Out {
    json: bool,
    w: BufWriter<Stdout>,
}

impl Out {
    /// Stdout in the mode `--json` asks for.
    pub(crate) fn new(json: bool) -> Self {
        Self {
            json,
            w: BufWriter::new(std::io::stdout()),
        }
    }

    /// Whether `--json` is on.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Writes raw bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<(), Failure> {
        self.w.write_all(b).map_err(|e| Failure::stdout(&e))
    }

    /// Writes a line of text. Its parts from a peer are already shown with [`display`]; any
    /// control character left is escaped all the same, so no line can drive the terminal.
    pub(crate) fn line(&mut self, s: &str) -> Result<(), Failure> {
        self.bytes(safe_line(s).as_bytes())?;
        self.bytes(b"\n")
    }

    /// Writes one JSON document on one line.
    pub(crate) fn json(&mut self, v: &Value) -> Result<(), Failure> {
        self.bytes(json_line(v).as_bytes())?;
        self.bytes(b"\n")
    }

    /// Writes `fields` as a JSON object or as `name: value` lines.
    pub(crate) fn fields(&mut self, fields: &Fields) -> Result<(), Failure> {
        if self.json {
            return self.json(&fields.to_json());
        }
        // Names too may be the tracker's (`debug`).
        let names: Vec<String> = fields.0.iter().map(|(k, _)| display(k)).collect();
        let width = names.iter().map(String::len).max().unwrap_or(0);
        for (name, (_, value)) in names.iter().zip(&fields.0) {
            self.line(&format!("{name:<width$}  {}", text(value)))?;
        }
        Ok(())
    }

    /// Writes `table` as a JSON array of objects or as aligned columns under a header.
    pub(crate) fn table(&mut self, table: &Table) -> Result<(), Failure> {
        if self.json {
            return self.json(&table.to_json());
        }
        let cells: Vec<Vec<String>> = table
            .rows
            .iter()
            .map(|r| r.iter().map(text).collect())
            .collect();
        let widths: Vec<usize> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, h)| {
                cells
                    .iter()
                    .map(|r| r[i].len())
                    .chain([h.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let render = |row: &mut dyn Iterator<Item = &str>| {
            let line: Vec<String> = row
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            line.join("  ").trim_end().to_string()
        };
        let header = render(&mut table.columns.iter().copied());
        self.line(&header)?;
        for row in &cells {
            let line = render(&mut row.iter().map(String::as_str));
            self.line(&line)?;
        }
        Ok(())
    }

    /// Flushes what is buffered (after each `ls` page, so listings stream).
    pub(crate) fn flush(&mut self) -> Result<(), Failure> {
        self.w.flush().map_err(|e| Failure::stdout(&e))
    }
}

/// Named values in a fixed order (one object).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Fields(pub(crate) Vec<(String, Value)>);

impl Fields {
    /// Adds a field.
    pub(crate) fn push(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.push((name.into(), value.into()));
    }

    /// The fields as a JSON object.
    pub(crate) fn to_json(&self) -> Value {
        Value::Object(self.0.iter().cloned().collect::<Map<_, _>>())
    }
}

/// Rows under named columns (a list of objects).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    columns: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub(crate) fn new(columns: &[&'static str]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are null, extra cells are dropped.
    pub(crate) fn row(&mut self, mut cells: Vec<Value>) {
        cells.resize(self.columns.len(), Value::Null);
        self.rows.push(cells);
    }

    /// The table as a JSON array of objects.
    pub(crate) fn to_json(&self) -> Value {
        let rows = self.rows.iter().map(|row| {
            let obj = self
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| ((*c).to_string(), v.clone()))
                .collect::<Map<_, _>>();
            Value::Object(obj)
        });
        Value::Array(rows.collect())
    }
}

/// A value as text: strings unquoted and shown with [`display`], a key that is not UTF-8
/// (`{"hex": ...}`, see `key_text`) shown from its bytes the same way, null as `-`.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => display(s),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        Value::Object(obj) => match hex_key(obj) {
            Some(bytes) => display(bytes),
            None => display(v.to_string()),
        },
        other => other.to_string(),
    }
}

/// The bytes of a key written as `{"hex": "..."}`.
fn hex_key(obj: &Map<String, Value>) -> Option<Vec<u8>> {
    match obj.get("hex") {
        Some(Value::String(h)) if obj.len() == 1 => hex::decode(h).ok(),
        _ => None,
    }
}

/// A JSON document on one line, with DEL and the C1 controls written as `\u00XX` as well:
/// `serde_json` escapes only the C0 controls, and a terminal may obey a raw C1 (`U+009B` is a
/// CSI). These characters occur only inside strings, where the escape means the same character.
fn json_line(v: &Value) -> String {
    let doc = v.to_string();
    if !doc.contains(char::is_control) {
        return doc;
    }
    let mut out = String::with_capacity(doc.len() + 16);
    for c in doc.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_as_text() {
        assert_eq!(text(&Value::Null), "-");
        assert_eq!(text(&json!("a b")), "'a b'");
        assert_eq!(text(&json!(12)), "12");
        assert_eq!(text(&json!([1, 2])), "1,2");
        assert_eq!(text(&json!(true)), "true");
    }

    #[test]
    fn text_values_are_shown_escaped() {
        assert_eq!(text(&json!("a\u{1b}[31m\r\n50%")), r"$'a\x1b[31m\r\n50%'");
        assert_eq!(text(&json!(["x\ty", "z"])), r"$'x\ty',z");
        assert_eq!(text(&json!("50% off")), "'50% off'");
        // A key that is not UTF-8, as `key_text::json` writes it.
        assert_eq!(text(&json!({"hex": "1b41ff"})), r"$'\x1bA\xff'");
        assert_eq!(text(&json!({"other": "\u{1b}"})), r#"'{"other":"\u001b"}'"#);
    }

    #[test]
    fn json_lines_escape_del_and_c1_too() {
        let v = json!({"k": "a\u{1b}b\u{7f}c\u{9b}d\u{e9}"});
        let line = json_line(&v);
        assert_eq!(line, "{\"k\":\"a\\u001bb\\u007fc\\u009bd\u{e9}\"}");
        assert!(!line.contains(char::is_control));
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn tables_become_arrays_of_objects() {
        let mut t = Table::new(&["name", "count"]);
        t.row(vec![json!("a"), json!(1)]);
        t.row(vec![json!("b")]);
        assert_eq!(
            t.to_json(),
            json!([{"name": "a", "count": 1}, {"name": "b", "count": null}])
        );
    }

    #[test]
    fn fields_keep_their_values() {
        let mut f = Fields::default();
        f.push("fid", 7);
        f.push("class", "default");
        assert_eq!(f.to_json(), json!({"fid": 7, "class": "default"}));
    }
}
