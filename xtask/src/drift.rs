//! What changed between two versions of the normalized document, for the regen report.

use serde_json::Value;

use crate::openapi::is_method;

/// One difference, addressed by a readable path such as
/// `paths["/sales"].get.parameters[name=status,in=query].schema`.
///
/// Parameters are matched by name and location (or by `$ref`), not by position; other arrays
/// of scalars (`enum`, `required`, `tags`) are compared as sets, so each value added or removed
/// is listed; other arrays are compared item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Present only in the new document.
    Added(String),
    /// Present only in the old document.
    Removed(String),
    /// A value only the new array of scalars at `path` has.
    AddedValue { path: String, value: String },
    /// A value only the old array of scalars at `path` has.
    RemovedValue { path: String, value: String },
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
            Difference::AddedValue { path, value } => write!(f, "+ {path}: {value}"),
            Difference::RemovedValue { path, value } => write!(f, "- {path}: {value}"),
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
                let index = key
                    .parse::<usize>()
                    .ok()
                    .filter(|index| *index < items.len());
                path = match index {
                    Some(index) => join_item(&path, items, index),
                    None => format!("{path}[{key}]"),
                };
                node = index.map(|index| &items[index]);
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
        (Value::Array(a), Value::Array(b)) if a != b => walk_arrays(a, b, &path, out),
        (a, b) if a != b => out.push(Difference::Changed {
            path,
            old: short(a),
            new: short(b),
        }),
        _ => {}
    }
}

fn walk_arrays(a: &[Value], b: &[Value], path: &str, out: &mut Vec<Difference>) {
    if let (Some(old_keys), Some(new_keys)) = (keys(a), keys(b)) {
        for (key, value) in new_keys.iter().zip(b) {
            let child = format!("{path}[{key}]");
            match old_keys.iter().position(|known| known == key) {
                Some(position) => walk(&a[position], value, child, out),
                None => out.push(Difference::Added(child)),
            }
        }
        for key in old_keys.iter().filter(|key| !new_keys.contains(key)) {
            out.push(Difference::Removed(format!("{path}[{key}]")));
        }
        return;
    }

    let scalars = |items: &[Value]| {
        items
            .iter()
            .all(|item| !item.is_object() && !item.is_array())
    };
    if scalars(a) && scalars(b) {
        let count = |items: &[Value], value: &Value| items.iter().filter(|x| *x == value).count();
        let before = out.len();
        let mut seen: Vec<&Value> = Vec::new();
        for value in b.iter().chain(a) {
            if seen.contains(&value) {
                continue;
            }
            seen.push(value);
            let (old, new) = (count(a, value), count(b, value));
            let (path, value) = (path.to_owned(), value.to_string());
            for _ in old..new {
                out.push(Difference::AddedValue {
                    path: path.clone(),
                    value: value.clone(),
                });
            }
            for _ in new..old {
                out.push(Difference::RemovedValue {
                    path: path.clone(),
                    value: value.clone(),
                });
            }
        }
        // The same values in another order.
        if out.len() == before {
            out.push(Difference::Changed {
                path: path.to_owned(),
                old: short(&Value::from(a.to_vec())),
                new: short(&Value::from(b.to_vec())),
            });
        }
        return;
    }

    for (index, (x, y)) in a.iter().zip(b).enumerate() {
        walk(x, y, format!("{path}[{index}]"), out);
    }
    for index in a.len()..b.len() {
        out.push(Difference::Added(format!("{path}[{index}]")));
    }
    for index in b.len()..a.len() {
        out.push(Difference::Removed(format!("{path}[{index}]")));
    }
}

/// The labels of an array's items when they are parameters (`name=status,in=query`, or the
/// `$ref=…` of a referenced one) and no two share one; `None` for other arrays.
fn keys(items: &[Value]) -> Option<Vec<String>> {
    let keys: Vec<String> = items
        .iter()
        .map(
            |item| match (item.get("name"), item.get("in"), item.get("$ref")) {
                (Some(Value::String(name)), Some(Value::String(place)), _) => {
                    Some(format!("name={name},in={place}"))
                }
                (_, _, Some(Value::String(reference))) => Some(format!("$ref={reference}")),
                _ => None,
            },
        )
        .collect::<Option<_>>()?;
    let unique = keys
        .iter()
        .enumerate()
        .all(|(i, key)| !keys[..i].contains(key));
    (!keys.is_empty() && unique).then_some(keys)
}

/// `path` extended by the item `index` of `items`: its parameter label, or its index.
pub fn join_item(path: &str, items: &[Value], index: usize) -> String {
    match keys(items) {
        Some(keys) => format!("{path}[{}]", keys[index]),
        None => format!("{path}[{index}]"),
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

    fn lines(old: &Value, new: &Value) -> Vec<String> {
        diff(old, new).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parameters_are_matched_by_name_and_location() {
        let page = json!({"name": "page", "in": "query", "schema": {"type": "string"}});
        let id = json!({"name": "id", "in": "path"});
        let status = json!({"$ref": "#/components/parameters/SaleStatus"});
        let old = json!({"parameters": [page, id, status]});
        let mut page = page.clone();
        page["schema"]["type"] = json!("integer");
        let new = json!({"parameters": [{"name": "id", "in": "query"}, page, id]});
        assert_eq!(
            lines(&old, &new),
            [
                "+ parameters[name=id,in=query]",
                r#"~ parameters[name=page,in=query].schema.type: "string" -> "integer""#,
                "- parameters[$ref=#/components/parameters/SaleStatus]",
            ]
        );
    }

    #[test]
    fn arrays_of_scalars_list_each_added_and_removed_value() {
        let old =
            json!({"enum": ["pix", "boleto", "card"], "required": ["id"], "tags": ["a", "b"]});
        let new = json!({"enum": ["boleto", "pix", "paypal"], "required": ["id", "name"], "tags": ["b", "a"]});
        assert_eq!(
            lines(&old, &new),
            [
                r#"+ enum: "paypal""#,
                r#"- enum: "card""#,
                r#"+ required: "name""#,
                r#"~ tags: ["a","b"] -> ["b","a"]"#,
            ]
        );
    }

    #[test]
    fn other_arrays_of_another_length_list_the_extra_items() {
        let old = json!({"servers": [{"url": "a"}]});
        let new = json!({"servers": [{"url": "b"}, {"url": "c"}]});
        assert_eq!(
            lines(&old, &new),
            [r#"~ servers[0].url: "a" -> "b""#, "+ servers[1]"]
        );
    }

    #[test]
    fn readable_paths_label_parameters_like_the_report() {
        let document =
            json!({"paths": {"/s": {"get": {"parameters": [{"name": "q", "in": "query"}]}}}});
        assert_eq!(
            readable(&document, "/paths/~1s/get/parameters/0/schema"),
            r#"paths["/s"].get.parameters[name=q,in=query].schema"#
        );
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
