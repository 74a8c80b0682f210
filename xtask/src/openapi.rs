//! What every task needs to know about an OpenAPI document's shape.

use serde_json::Value;

use crate::pointer;

/// The keys of a path item that name an HTTP operation.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Whether a path-item key names an HTTP operation.
pub fn is_method(key: &str) -> bool {
    METHODS.contains(&key)
}

/// Every `$ref` string in `value`, with the JSON pointer (below `base`) of the object holding it,
/// in document order.
pub fn references<'a>(value: &'a Value, base: &str) -> Vec<(String, &'a str)> {
    let mut found = Vec::new();
    walk(value, base.to_owned(), &mut found);
    found
}

fn walk<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                found.push((at.clone(), reference));
            }
            for (key, child) in map {
                walk(child, pointer::join(&at, key), found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                walk(child, format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn references_are_found_at_every_depth_with_escaped_pointers() {
        let value = json!({
            "/a/{id}": {"get": {"$ref": "#/x"}},
            "list": [{"schema": {"$ref": "#/y"}}],
            "$ref": "#/z",
        });
        assert_eq!(
            references(&value, "/paths"),
            [
                ("/paths".to_owned(), "#/z"),
                ("/paths/~1a~1{id}/get".to_owned(), "#/x"),
                ("/paths/list/0/schema".to_owned(), "#/y"),
            ]
        );
    }

    #[test]
    fn methods_are_the_eight_operation_keys() {
        assert!(is_method("get") && is_method("trace"));
        assert!(!is_method("parameters") && !is_method("GET"));
    }
}
