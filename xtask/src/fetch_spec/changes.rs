//! What the fetched document lacks, or adds, compared with the vendored one.

use serde_json::Value;

#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Operations and components of the current document that the fetched one lacks.
    pub missing: Vec<String>,
    /// Operations and components that only the fetched document has.
    pub added: Vec<String>,
}

pub fn compare(current: &Value, fetched: &Value) -> Changes {
    let (current, fetched) = (items(current), items(fetched));
    Changes {
        missing: current
            .iter()
            .filter(|item| !fetched.contains(item))
            .cloned()
            .collect(),
        added: fetched
            .iter()
            .filter(|item| !current.contains(item))
            .cloned()
            .collect(),
    }
}

/// The operations (`GET /sales`) and components (`#/components/schemas/Product`) of a document.
/// Path-item entries that are not operations read like `/sales parameters`.
fn items(document: &Value) -> Vec<String> {
    let mut items = Vec::new();
    for (path, item) in members(document.get("paths")) {
        for (key, _) in members(Some(item)) {
            if crate::openapi::is_method(key) {
                items.push(format!("{} {path}", key.to_ascii_uppercase()));
            } else {
                items.push(format!("{path} {key}"));
            }
        }
    }
    for (section, components) in members(document.get("components")) {
        for (name, _) in members(Some(components)) {
            items.push(format!("#/components/{section}/{name}"));
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
            }
        );
    }
}
