//! YAML text to and from `serde_json::Value`, keeping the source's key order.

use anyhow::{Context, Result};
use serde_json::Value;

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
    fn rejects_broken_yaml() {
        assert!(parse("a: [unclosed\n").is_err());
    }
}
