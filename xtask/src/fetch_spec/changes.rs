//! What the fetched document lacks, adds or changes compared with the vendored one.

use serde_json::Value;

use crate::drift::{self, Difference};
use crate::openapi::is_method;

#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Operations and components of the current document that the fetched one lacks.
    pub missing: Vec<String>,
    /// Operations and components that only the fetched document has.
    pub added: Vec<String>,
    /// Every other difference, field by field in the drift report's syntax (as `regen` prints
    /// it): a property a page lost, a changed type, a header key.
    pub changed: Vec<Difference>,
}

pub fn compare(current: &Value, fetched: &Value) -> Changes {
    let (current_items, fetched_items) = (items(current), items(fetched));
    let only_in = |these: &[Item], those: &[Item]| -> Vec<Item> {
        these
            .iter()
            .filter(|item| !those.iter().any(|other| other.label == item.label))
            .cloned()
            .collect()
    };
    let missing = only_in(&current_items, &fetched_items);
    let added = only_in(&fetched_items, &current_items);

    // Whole operations and components on one side only are listed above; so is the removal or
    // addition of what holds them (a path item, a components section).
    let listed = |path: &str| {
        missing.iter().chain(&added).any(|item| {
            item.path == path
                || item
                    .path
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    };
    let changed = drift::diff(current, fetched)
        .into_iter()
        .filter(|difference| match difference {
            Difference::Added(path) | Difference::Removed(path) => !listed(path),
            _ => true,
        })
        .collect();

    Changes {
        missing: missing.into_iter().map(|item| item.label).collect(),
        added: added.into_iter().map(|item| item.label).collect(),
        changed,
    }
}

/// An operation (`GET /sales`) or component (`#/components/schemas/Product`) and its path in
/// the drift syntax.
#[derive(Clone)]
struct Item {
    label: String,
    path: String,
}

/// The operations and components of a document. Path-item entries that are not operations read
/// like `/sales parameters`.
fn items(document: &Value) -> Vec<Item> {
    let mut items = Vec::new();
    for (path, item) in members(document.get("paths")) {
        for (key, _) in members(Some(item)) {
            let label = if is_method(key) {
                format!("{} {path}", key.to_ascii_uppercase())
            } else {
                format!("{path} {key}")
            };
            let path = drift::join_key(&drift::join_key("paths", path), key);
            items.push(Item { label, path });
        }
    }
    for (section, components) in members(document.get("components")) {
        for (name, _) in members(Some(components)) {
            items.push(Item {
                label: format!("#/components/{section}/{name}"),
                path: drift::join_key(&drift::join_key("components", section), name),
            });
        }
    }
    items
}

fn members(value: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    value.and_then(Value::as_object).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lists_operations_and_components_on_one_side_only() {
        let current = json!({
            "paths": {"/sales": {"get": {}, "parameters": []}, "/stats": {"get": {}}},
            "components": {"schemas": {"Sale": {}, "Stats": {}}},
        });
        let fetched = json!({
            "paths": {"/sales": {"get": {}, "post": {}}},
            "components": {"schemas": {"Sale": {}}, "parameters": {"Page": {}}},
        });

        assert_eq!(
            compare(&current, &fetched),
            Changes {
                missing: vec![
                    "/sales parameters".to_owned(),
                    "GET /stats".to_owned(),
                    "#/components/schemas/Stats".to_owned(),
                ],
                added: vec![
                    "POST /sales".to_owned(),
                    "#/components/parameters/Page".to_owned()
                ],
                changed: Vec::new(),
            }
        );
    }

    #[test]
    fn a_lost_property_and_a_changed_parameter_are_named_field_by_field() {
        let current = json!({
            "info": {"version": "1"},
            "paths": {"/sales": {"get": {"parameters": [
                {"name": "status", "in": "query", "schema": {"enum": ["paid", "refunded"]}},
            ]}}},
            "components": {"schemas": {"Sale": {"properties": {"id": {}, "net_amount": {}}}}},
        });
        let fetched = json!({
            "info": {"version": "2"},
            "paths": {"/sales": {"get": {"parameters": [
                {"name": "status", "in": "query", "schema": {"enum": ["paid"]}},
            ]}}},
            "components": {"schemas": {"Sale": {"properties": {"id": {}}}}},
        });

        let changes = compare(&current, &fetched);
        let lines: Vec<String> = changes.changed.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                r#"~ info.version: "1" -> "2""#,
                r#"- paths["/sales"].get.parameters[name=status,in=query].schema.enum: "refunded""#,
                "- components.schemas.Sale.properties.net_amount",
            ]
        );
        assert!(changes.missing.is_empty() && changes.added.is_empty());
    }
}
