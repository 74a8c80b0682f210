//! YAML text to and from `serde_json::Value`, keeping the source's key order.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// Reads a YAML (or JSON) file; the error names the file, and the line and column.
pub fn read(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| path.display().to_string())
}

/// Parses one YAML document. Anchors are resolved; scalar keys such as `200:` become strings.
pub fn parse(text: &str) -> Result<Value> {
    serde_norway::from_str(text).context("not valid YAML")
}

pub fn to_string(value: &Value) -> Result<String> {
    serde_norway::to_string(value).context("serializing YAML")
}

/// `value` as an indented YAML block, for showing a node inside a report.
pub fn indented(value: &Value, indent: &str) -> String {
    let text = to_string(value).unwrap_or_else(|error| format!("{error:#}\n"));
    text.lines()
        .map(|line| format!("{indent}{line}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_stringifies_status_keys() {
        let value = parse("z: 1\n200: ok\na: [1]\n").unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["z", "200", "a"]);
        assert_eq!(to_string(&value).unwrap(), "z: 1\n'200': ok\na:\n- 1\n");
    }

    #[test]
    fn rejects_broken_yaml_with_line_and_column() {
        let error = format!("{:#}", parse("a: 1\nb: [\n").unwrap_err());
        assert!(error.starts_with("not valid YAML: "), "{error}");
        assert!(error.contains("line 3 column 1"), "{error}");
    }
}
