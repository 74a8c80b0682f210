//! What changed between two versions of the normalized document, for the regen report.

use serde_json::Value;

use crate::normalize::is_method;

/// One difference, addressed by a readable path such as `paths["/sales"].get.parameters[5]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Present only in the new document.
    Added(String),
    /// Present only in the old document.
    Removed(String),
    /// Present in both with another value.
    Changed {
        path: String,
        old: String,
        new: String,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Added(path) => write!(f, "+ {path}"),
            Difference::Removed(path) => write!(f, "- {path}"),
            Difference::Changed { path, old, new } => write!(f, "~ {path}: {old} -> {new}"),
        }
    }
}

/// Every difference between `old` and `new`, deepest first where both sides have a node.
pub fn diff(old: &Value, new: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    walk(old, new, String::new(), &mut out);
    out
}

/// Operation-level summary lines: operations added, removed or changed.
pub fn operations(old: &Value, new: &Value) -> Vec<String> {
    let list = |document: &Value| -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if is_method(method) {
                    out.push((
                        format!("{} {path}", method.to_uppercase()),
                        operation.clone(),
                    ));
                }
            }
        }
        out
    };
    let (before, after) = (list(old), list(new));
    let mut lines = Vec::new();
    for (name, operation) in &after {
        match before.iter().find(|(other, _)| other == name) {
            None => lines.push(format!("operation added: {name}")),
            Some((_, previous)) if previous != operation => {
                lines.push(format!("operation changed: {name}"))
            }
            Some(_) => {}
        }
    }
    for (name, _) in &before {
        if !after.iter().any(|(other, _)| other == name) {
            lines.push(format!("operation removed: {name}"));
        }
    }
    lines
}

/// The readable path of a JSON pointer into `document`, in the syntax of the drift report.
pub fn readable(document: &Value, pointer: &str) -> String {
    let mut path = String::new();
    let mut node = Some(document);
    for segment in pointer.split('/').skip(1) {
        let key = crate::pointer::unescape(segment);
        match node {
            Some(Value::Array(items)) => {
                path = format!("{path}[{key}]");
                node = key.parse::<usize>().ok().and_then(|index| items.get(index));
            }
            other => {
                path = join_key(&path, &key);
                node = other.and_then(|value| value.get(&key));
            }
        }
    }
    path
}

fn walk(old: &Value, new: &Value, path: String, out: &mut Vec<Difference>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in b {
                let child = join_key(&path, key);
                match a.get(key) {
                    Some(previous) => walk(previous, value, child, out),
                    None => out.push(Difference::Added(child)),
                }
            }
            for key in a.keys().filter(|key| !b.contains_key(*key)) {
                out.push(Difference::Removed(join_key(&path, key)));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                walk(x, y, format!("{path}[{index}]"), out);
            }
        }
        (a, b) if a != b => out.push(Difference::Changed {
            path,
            old: short(a),
            new: short(b),
        }),
        _ => {}
    }
}

/// `path` extended by an object key: `paths["/sales"]`, `paths["/sales"].get`.
pub fn join_key(path: &str, key: &str) -> String {
    let simple = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (path.is_empty(), simple) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_changed_field_is_named() {
        let old =
            json!({"paths": {"/sales": {"get": {"parameters": [{"schema": {"type": "string"}}]}}}});
        let new = json!({"paths": {"/sales": {"get": {"parameters": [{"schema": {"type": "integer"}}]}}}});
        let lines: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [r#"~ paths["/sales"].get.parameters[0].schema.type: "string" -> "integer""#]
        );
        assert_eq!(operations(&old, &new), ["operation changed: GET /sales"]);
    }

    #[test]
    fn added_and_removed_operations_are_listed() {
        let old = json!({"paths": {"/a": {"get": {}}}});
        let new = json!({"paths": {"/b": {"post": {}}}});
        assert_eq!(
            operations(&old, &new),
            ["operation added: POST /b", "operation removed: GET /a"]
        );
    }
}
