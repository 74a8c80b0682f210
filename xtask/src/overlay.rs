//! OpenAPI Overlay 1.0: the project's corrections, applied to the vendor document.
//!
//! Supported: `target` as an RFC 9535 JSONPath, `update` (objects merge recursively, arrays and
//! scalars inside an object are replaced, a selected array is appended to) and `remove: true`.
//! A target that selects nothing is an error, so a correction that went stale upstream is seen.
//!
//! A target with a wildcard, a filter or a descendant segment (`*`, `[?…]`, `..`) can go
//! partly stale: a filter that matched 5 operations may match 4 after an upstream change. Such
//! an action must declare how many nodes it selects with the extension `x-expect: N`, and any
//! other count is an error.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::pointer;

/// One correction.
#[derive(Debug, Clone)]
pub struct Action {
    /// JSONPath of the nodes to change.
    pub target: String,
    /// Why the correction exists.
    pub description: String,
    /// The change.
    pub change: Change,
    /// How many nodes the target must select (`x-expect`); required for wildcard and filter
    /// targets.
    pub expect: Option<usize>,
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
            let expect = match action.get("x-expect") {
                None => None,
                Some(count) => Some(
                    count
                        .as_u64()
                        .and_then(|count| usize::try_from(count).ok())
                        .with_context(|| {
                            format!(
                                "action {index} ({target}): x-expect must be a count, not {count}"
                            )
                        })?,
                ),
            };
            if expect.is_none() && selects_many(&target) {
                bail!(
                    "action {index} ({target}) selects by wildcard or filter; declare how many \
                     nodes it must match with `x-expect: N`"
                );
            }
            Ok(Action {
                target,
                description,
                change,
                expect,
            })
        })
        .collect()
}

/// Whether a JSONPath has a wildcard, filter or descendant segment outside its quoted names.
fn selects_many(target: &str) -> bool {
    let mut quote = None;
    let mut previous = ' ';
    for character in target.chars() {
        match (quote, character) {
            (Some(open), _) if character == open && previous != '\\' => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(character),
            (None, '*' | '?') => return true,
            (None, '.') if previous == '.' => return true,
            (None, _) => {}
        }
        previous = character;
    }
    false
}

/// A node that an action replaced or deleted, as the document stood when the action ran.
///
/// Nodes the action only adds to (new keys, appended array items) are not edits: nothing of the
/// vendor document is hidden there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Index of the action in the overlay.
    pub action: usize,
    /// JSON pointer of the node.
    pub pointer: String,
    /// Whether the node was an array item that was deleted, which shifts the items after it.
    pub removed_item: bool,
}

/// Applies every action in order and returns what they replaced or deleted, in order. Fails,
/// naming every one of them, when targets select nothing.
pub fn apply(document: &mut Value, actions: &[Action]) -> Result<Vec<Edit>> {
    let mut stale = Vec::new();
    let mut edits = Vec::new();
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
        if let Some(expected) = action.expect
            && expected != pointers.len()
        {
            stale.push(format!(
                "  correction {index}: {} matches {} node(s), x-expect says {expected} ({})",
                action.target,
                pointers.len(),
                action.description
            ));
            continue;
        }

        let mut replaced = Vec::new();
        match &action.change {
            Change::Update(update) => {
                for pointer in &pointers {
                    // The query ran before the update; an update of an earlier match can replace
                    // an ancestor of a later one.
                    let node = document.pointer_mut(pointer).with_context(|| {
                        format!(
                            "action {index} ({}): its update replaced an ancestor of another \
                             match, {pointer}, which no longer exists; narrow the target",
                            action.target
                        )
                    })?;
                    update_node(node, update, pointer, &mut replaced);
                }
                edits.extend(replaced.into_iter().map(|pointer| Edit {
                    action: index,
                    pointer,
                    removed_item: false,
                }));
            }
            // Remove the deepest nodes first so that earlier pointers stay valid.
            Change::Remove => {
                for pointer in pointers.iter().rev() {
                    if let Some(removed_item) = remove(document, pointer) {
                        edits.push(Edit {
                            action: index,
                            pointer: pointer.clone(),
                            removed_item,
                        });
                    }
                }
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} correction(s) target nothing, or not what they expect, in the vendor \
             document; review them in openapi/corrections.yaml:\n{}",
            stale.len(),
            stale.join("\n")
        );
    }
    Ok(edits)
}

/// Merges `update` into the node at `pointer`, pushing the pointer of every node it replaces.
fn update_node(target: &mut Value, update: &Value, pointer: &str, replaced: &mut Vec<String>) {
    match (target, update) {
        (Value::Array(items), Value::Array(more)) => items.extend(more.iter().cloned()),
        (Value::Array(items), single) => items.push(single.clone()),
        (Value::Object(target), Value::Object(update)) => {
            for (key, value) in update {
                let child = pointer::join(pointer, key);
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        update_node(existing, value, &child, replaced)
                    }
                    Some(existing) => {
                        replaced.push(child);
                        *existing = value.clone();
                    }
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, update) => {
            replaced.push(pointer.to_owned());
            *target = update.clone();
        }
    }
}

/// Deletes the node at `pointer`; `Some(true)` when it was an array item, `None` when there was
/// nothing to delete.
fn remove(document: &mut Value, pointer: &str) -> Option<bool> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let key = pointer::unescape(last);
    match document.pointer_mut(parent)? {
        Value::Object(map) => map.shift_remove(&key).map(|_| false),
        Value::Array(items) => {
            let index = key
                .parse::<usize>()
                .ok()
                .filter(|index| *index < items.len())?;
            items.remove(index);
            Some(true)
        }
        _ => None,
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
    fn edits_name_replaced_and_removed_nodes_but_not_additions() {
        let mut doc = json!({"a": {"b": 1, "c": {"d": 2}, "l": [1]}, "r": [0, 1]});
        let list = actions(json!([
            {"target": "$.a", "description": "x", "update": {"b": 5, "c": {"d": 3, "e": 4}, "l": [2]}},
            {"target": "$.r[0]", "description": "y", "remove": true},
        ]));
        let edits = apply(&mut doc, &list).unwrap();
        let edit = |action, pointer: &str, removed_item| Edit {
            action,
            pointer: pointer.to_owned(),
            removed_item,
        };
        assert_eq!(
            edits,
            [
                edit(0, "/a/b", false),
                edit(0, "/a/c/d", false),
                edit(0, "/a/l", false),
                edit(1, "/r/0", true),
            ]
        );
    }

    #[test]
    fn an_update_that_replaces_an_ancestor_of_a_later_match_fails_naming_the_action() {
        let mut doc = json!({"a": {"kind": 1, "inner": {"deep": {"kind": 2}}}});
        let list = actions(json!([
            {"target": "$..[?@.kind]", "description": "x", "update": {"inner": "gone"}, "x-expect": 2},
        ]));
        let error = apply(&mut doc, &list).unwrap_err().to_string();
        assert!(
            error.contains("action 0 ($..[?@.kind]): its update replaced an ancestor of another match, /a/inner/deep,"),
            "{error}"
        );
    }

    #[test]
    fn remove_deletes_every_match() {
        let mut doc = json!({"p": {"x": {"r": {"400": 1, "200": 2}}, "y": {"r": {"400": 3}}}});
        let list = actions(
            json!([{"target": "$.p.*.r['400']", "description": "x", "remove": true, "x-expect": 2}]),
        );
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
    fn a_target_that_matches_another_count_than_expected_is_named() {
        let mut doc = json!({"p": {"x": {"r": 1}, "y": {"r": 2}, "z": {}}});
        let list = actions(
            json!([{"target": "$.p.*.r", "description": "why", "remove": true, "x-expect": 3}]),
        );
        let error = apply(&mut doc, &list).unwrap_err().to_string();
        assert!(
            error.contains("correction 0: $.p.*.r matches 2 node(s), x-expect says 3 (why)"),
            "{error}"
        );
    }

    #[test]
    fn wildcard_and_filter_targets_must_declare_a_count() {
        for target in ["$.p.*", "$.p[?@.a]", "$..a", "$.p[*]"] {
            let doc = json!({"overlay": "1.0.0", "actions": [
                {"target": target, "description": "x", "remove": true},
            ]});
            let error = parse(&doc).unwrap_err().to_string();
            assert!(error.contains("x-expect"), "{target}: {error}");
        }
        for target in ["$.paths['/a*b?'].get", "$.a.b", "$['..']"] {
            let doc = json!({"overlay": "1.0.0", "actions": [
                {"target": target, "description": "x", "remove": true},
            ]});
            assert!(parse(&doc).is_ok(), "{target}");
        }
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
