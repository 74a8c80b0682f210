//! OpenAPI Overlay 1.0: the project's corrections, applied to the vendor document.
//!
//! Supported: `target` as an RFC 9535 JSONPath, `update` (objects merge recursively, arrays and
//! scalars inside an object are replaced, a selected array is appended to) and `remove: true`.
//! A target that selects nothing is an error, so a correction that went stale upstream is seen.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use serde_json_path::JsonPath;

/// One correction.
#[derive(Debug, Clone)]
pub struct Action {
    /// JSONPath of the nodes to change.
    pub target: String,
    /// Why the correction exists.
    pub description: String,
    /// The change.
    pub change: Change,
}

/// What an action does to its targets.
#[derive(Debug, Clone)]
pub enum Change {
    /// Merge this value into each target.
    Update(Value),
    /// Delete each target.
    Remove,
}

/// Parses an overlay document that has already been read into JSON.
pub fn parse(document: &Value) -> Result<Vec<Action>> {
    match document.get("overlay").and_then(Value::as_str) {
        Some(version) if version.starts_with("1.") => {}
        Some(version) => bail!("unsupported overlay version {version:?}, expected 1.x"),
        None => bail!("not an overlay document: the `overlay` version field is missing"),
    }
    let actions = document
        .get("actions")
        .and_then(Value::as_array)
        .context("the overlay has no `actions` list")?;

    actions
        .iter()
        .enumerate()
        .map(|(index, action)| {
            let field = |name: &str| action.get(name).and_then(Value::as_str).map(str::to_owned);
            let target =
                field("target").with_context(|| format!("action {index} has no target"))?;
            let description = field("description")
                .filter(|text| !text.trim().is_empty())
                .with_context(|| format!("action {index} ({target}) has no description"))?;
            let change = match (action.get("update"), action.get("remove")) {
                (Some(update), None) => Change::Update(update.clone()),
                (None, Some(Value::Bool(true))) => Change::Remove,
                _ => bail!(
                    "action {index} ({target}) needs exactly one of `update` or `remove: true`"
                ),
            };
            Ok(Action {
                target,
                description,
                change,
            })
        })
        .collect()
}

/// Applies every action in order. Fails, naming every one of them, when targets select nothing.
pub fn apply(document: &mut Value, actions: &[Action]) -> Result<()> {
    let mut stale = Vec::new();
    for (index, action) in actions.iter().enumerate() {
        let path = JsonPath::parse(&action.target)
            .with_context(|| format!("action {index}: invalid JSONPath {}", action.target))?;
        let pointers: Vec<String> = path
            .query_located(document)
            .locations()
            .map(|location| location.to_json_pointer())
            .collect();
        if pointers.is_empty() {
            stale.push(format!(
                "  correction {index}: {} ({})",
                action.target, action.description
            ));
            continue;
        }

        match &action.change {
            Change::Update(update) => {
                for pointer in &pointers {
                    let node = document
                        .pointer_mut(pointer)
                        .expect("pointer from this query");
                    update_node(node, update);
                }
            }
            // Remove the deepest nodes first so that earlier pointers stay valid.
            Change::Remove => {
                for pointer in pointers.iter().rev() {
                    remove(document, pointer);
                }
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} correction(s) target nothing in the vendor document; review them in \
             openapi/corrections.yaml:\n{}",
            stale.len(),
            stale.join("\n")
        );
    }
    Ok(())
}

fn update_node(target: &mut Value, update: &Value) {
    match (target, update) {
        (Value::Array(items), Value::Array(more)) => items.extend(more.iter().cloned()),
        (Value::Array(items), single) => items.push(single.clone()),
        (target @ Value::Object(_), Value::Object(_)) => merge(target, update),
        (target, update) => *target = update.clone(),
    }
}

fn merge(target: &mut Value, update: &Value) {
    match (target, update) {
        (Value::Object(target), Value::Object(update)) => {
            for (key, value) in update {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, update) => *target = update.clone(),
    }
}

fn remove(document: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match document.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.shift_remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(index) = key.parse::<usize>()
                && index < items.len()
            {
                items.remove(index);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn actions(list: Value) -> Vec<Action> {
        parse(&json!({"overlay": "1.0.0", "actions": list})).unwrap()
    }

    #[test]
    fn update_merges_objects_and_replaces_scalars() {
        let mut doc = json!({"a": {"b": 1, "c": {"d": 2}}});
        let list = actions(
            json!([{"target": "$.a", "description": "x", "update": {"b": 5, "c": {"e": 3}}}]),
        );
        apply(&mut doc, &list).unwrap();
        assert_eq!(doc, json!({"a": {"b": 5, "c": {"d": 2, "e": 3}}}));
    }

    #[test]
    fn remove_deletes_every_match() {
        let mut doc = json!({"p": {"x": {"r": {"400": 1, "200": 2}}, "y": {"r": {"400": 3}}}});
        let list =
            actions(json!([{"target": "$.p.*.r['400']", "description": "x", "remove": true}]));
        apply(&mut doc, &list).unwrap();
        assert_eq!(doc, json!({"p": {"x": {"r": {"200": 2}}, "y": {"r": {}}}}));
    }

    #[test]
    fn a_target_that_matches_nothing_is_named_in_the_error() {
        let mut doc = json!({"a": 1});
        let list = actions(json!([{"target": "$.missing", "description": "gone", "update": {}}]));
        let error = apply(&mut doc, &list).unwrap_err().to_string();
        assert!(error.contains("$.missing"), "{error}");
    }

    #[test]
    fn actions_need_a_reason() {
        let doc = json!({"overlay": "1.0.0", "actions": [{"target": "$", "update": {}}]});
        assert!(
            parse(&doc)
                .unwrap_err()
                .to_string()
                .contains("no description")
        );
    }
}
