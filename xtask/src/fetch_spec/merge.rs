//! Merging fragments into one document: union of paths, union of components.
//!
//! Every fragment is cut into slots, each named by a JSON pointer: one per top-level key
//! (`/info`, `/servers`), one per path-item entry (`/paths/~1sales/get`) and one per component
//! (`/components/schemas/Product`). Pages that fill a slot with equal values agree; pages that
//! fill it differently conflict, and the merge fails unless a preference names the winning page.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use crate::{openapi, pointer, yaml};

/// A fragment and the page it came from.
pub struct Contribution<'a> {
    pub page: &'a str,
    pub document: &'a Map<String, Value>,
}

/// `--prefer POINTER=PAGE_URL`: the version of `pointer` that `page` defines wins.
#[derive(Clone, Debug, PartialEq)]
pub struct Preference {
    pub pointer: String,
    pub page: String,
}

impl std::str::FromStr for Preference {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let Some((pointer, page)) = text.split_once('=') else {
            bail!("`{text}` is not POINTER=PAGE_URL");
        };
        let pointer = pointer.trim_start_matches('#');
        if !pointer.starts_with('/') || page.is_empty() {
            bail!("`{text}` is not POINTER=PAGE_URL (e.g. /components/schemas/Product=https://…)");
        }
        Ok(Preference {
            pointer: pointer.to_owned(),
            page: page.to_owned(),
        })
    }
}

/// The merged document and how its conflicts were settled.
#[derive(Debug)]
pub struct Merged {
    pub document: Value,
    /// Conflicts settled by a preference.
    pub resolved: Vec<Preference>,
    /// Preferences that matched no conflict.
    pub unused: Vec<Preference>,
}

/// The pages that define one slot, grouped by the version they define.
struct Slot {
    keys: Vec<String>,
    versions: Vec<(Value, Vec<String>)>,
}

impl Slot {
    fn pointer(&self) -> String {
        pointer::from_keys(&self.keys)
    }
}

pub fn merge(contributions: &[Contribution], preferences: &[Preference]) -> Result<Merged> {
    let slots = slots(contributions)?;

    let mut document = Map::new();
    let mut resolved = Vec::new();
    let mut conflicts = String::new();
    for slot in &slots {
        let value = match slot.versions.as_slice() {
            [(value, _)] => value,
            versions => match preferred(slot, preferences) {
                Some(preference) => {
                    resolved.push(preference.clone());
                    let chosen = versions
                        .iter()
                        .find(|(_, pages)| pages.contains(&preference.page));
                    match chosen {
                        Some((value, _)) => value,
                        None => {
                            let _ = writeln!(
                                conflicts,
                                "{}: --prefer names {}, which does not define it\n",
                                slot.pointer(),
                                preference.page
                            );
                            continue;
                        }
                    }
                }
                None => {
                    conflicts.push_str(&describe(slot));
                    continue;
                }
            },
        };
        insert(&mut document, &slot.keys, value.clone());
    }

    if !conflicts.is_empty() {
        bail!(
            "pages define the same node differently; choose a version of each with \
             --prefer POINTER=PAGE_URL\n\n{conflicts}"
        );
    }

    let document = Value::Object(document);
    let dangling = dangling_references(contributions, &document);
    if !dangling.is_empty() {
        bail!("the merged document cannot resolve these references:\n{dangling}");
    }

    let unused = preferences
        .iter()
        .filter(|p| !resolved.contains(p))
        .cloned()
        .collect();
    Ok(Merged {
        document,
        resolved,
        unused,
    })
}

/// The slots of all contributions, in order of first appearance.
fn slots(contributions: &[Contribution]) -> Result<Vec<Slot>> {
    let mut slots: Vec<Slot> = Vec::new();
    let mut positions: HashMap<Vec<String>, usize> = HashMap::new();

    for contribution in contributions {
        for (keys, value) in entries(contribution)? {
            let position = *positions.entry(keys.clone()).or_insert_with(|| {
                slots.push(Slot {
                    keys,
                    versions: Vec::new(),
                });
                slots.len() - 1
            });
            let versions = &mut slots[position].versions;
            let page = contribution.page.to_owned();
            match versions.iter_mut().find(|(known, _)| *known == *value) {
                Some((_, pages)) => pages.push(page),
                None => versions.push((value.clone(), vec![page])),
            }
        }
    }
    Ok(slots)
}

/// The slots of one fragment: `(keys, value)` pairs.
fn entries<'a>(contribution: &Contribution<'a>) -> Result<Vec<(Vec<String>, &'a Value)>> {
    let mut entries = Vec::new();
    for (key, value) in contribution.document {
        let nested = match key.as_str() {
            "paths" | "components" => value,
            _ => {
                entries.push((vec![key.clone()], value));
                continue;
            }
        };
        let Some(groups) = nested.as_object() else {
            bail!("{}: `{key}` is not a mapping", contribution.page);
        };
        for (group, members) in groups {
            let Some(members) = members.as_object() else {
                bail!("{}: `{key}.{group}` is not a mapping", contribution.page);
            };
            for (member, value) in members {
                entries.push((vec![key.clone(), group.clone(), member.clone()], value));
            }
        }
    }
    Ok(entries)
}

/// The `$ref`s of the fragments that `document` cannot resolve, each with the pages using it.
fn dangling_references(contributions: &[Contribution], document: &Value) -> String {
    let mut dangling: Vec<(&str, Vec<&str>)> = Vec::new();
    for contribution in contributions {
        let references = contribution
            .document
            .values()
            .flat_map(|value| openapi::references(value, ""));
        for (_, reference) in references {
            let resolves = reference
                .strip_prefix('#')
                .and_then(|target| document.pointer(target));
            if resolves.is_some() {
                continue;
            }
            match dangling.iter_mut().find(|(known, _)| *known == reference) {
                Some((_, pages)) if pages.contains(&contribution.page) => {}
                Some((_, pages)) => pages.push(contribution.page),
                None => dangling.push((reference, vec![contribution.page])),
            }
        }
    }
    dangling
        .iter()
        .map(|(reference, pages)| format!("  {reference} (in {})\n", pages.join(", ")))
        .collect()
}

fn preferred<'p>(slot: &Slot, preferences: &'p [Preference]) -> Option<&'p Preference> {
    let pointer = slot.pointer();
    preferences
        .iter()
        .find(|preference| preference.pointer == pointer)
}

/// A conflict, with every version and the pages that define it.
fn describe(slot: &Slot) -> String {
    let mut text = format!("{}\n", slot.pointer());
    for (number, (value, pages)) in slot.versions.iter().enumerate() {
        let _ = writeln!(text, "  version {} from {}:", number + 1, pages.join(", "));
        text.push_str(&yaml::indented(value, "    "));
    }
    let first_page = &slot.versions[0].1[0];
    let _ = writeln!(
        text,
        "  to keep version 1: --prefer '{}={first_page}'\n",
        slot.pointer()
    );
    text
}

fn insert(document: &mut Map<String, Value>, keys: &[String], value: Value) {
    let (last, parents) = keys.split_last().expect("a slot has at least one key");
    let mut map = document;
    for key in parents {
        let child = map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        map = child.as_object_mut().expect("slot parents are mappings");
    }
    map.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fragment(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn unions_paths_and_components_in_order_of_appearance() {
        let first = fragment(json!({
            "openapi": "3.1.0",
            "paths": {"/b": {"get": {"summary": "b"}}},
            "components": {"schemas": {"B": {"type": "object"}, "Shared": {"type": "string"}}},
        }));
        let second = fragment(json!({
            "openapi": "3.1.0",
            "paths": {"/a": {"post": {"summary": "a"}}, "/b": {"put": {"summary": "b2"}}},
            "components": {"schemas": {"Shared": {"type": "string"}}, "parameters": {"P": {}}},
        }));
        let contributions = [
            Contribution {
                page: "one",
                document: &first,
            },
            Contribution {
                page: "two",
                document: &second,
            },
        ];

        let merged = merge(&contributions, &[]).unwrap();

        let expected = json!({
            "openapi": "3.1.0",
            "paths": {
                "/b": {"get": {"summary": "b"}, "put": {"summary": "b2"}},
                "/a": {"post": {"summary": "a"}},
            },
            "components": {
                "schemas": {"B": {"type": "object"}, "Shared": {"type": "string"}},
                "parameters": {"P": {}},
            },
        });
        assert_eq!(merged.document, expected);
        assert_eq!(
            yaml::to_string(&merged.document).unwrap(),
            yaml::to_string(&expected).unwrap()
        );
    }

    #[test]
    fn a_conflict_fails_with_both_versions_unless_a_page_is_preferred() {
        let first = fragment(json!({"components": {"schemas": {"S": {"type": "string"}}}}));
        let second = fragment(json!({"components": {"schemas": {"S": {"type": "number"}}}}));
        let contributions = [
            Contribution {
                page: "https://docs/one.md",
                document: &first,
            },
            Contribution {
                page: "https://docs/two.md",
                document: &second,
            },
        ];

        let error = merge(&contributions, &[]).unwrap_err().to_string();
        assert!(error.contains("/components/schemas/S\n"), "{error}");
        assert!(
            error.contains("version 1 from https://docs/one.md:\n    type: string"),
            "{error}"
        );
        assert!(
            error.contains("version 2 from https://docs/two.md:\n    type: number"),
            "{error}"
        );

        let preference: Preference = "#/components/schemas/S=https://docs/two.md"
            .parse()
            .unwrap();
        let merged = merge(&contributions, std::slice::from_ref(&preference)).unwrap();
        assert_eq!(
            merged.document["components"]["schemas"]["S"],
            json!({"type": "number"})
        );
        assert_eq!(merged.resolved, [preference]);
    }

    #[test]
    fn a_preference_for_a_page_that_lacks_the_node_fails() {
        let first = fragment(json!({"info": {"version": "1"}}));
        let second = fragment(json!({"info": {"version": "2"}}));
        let contributions = [
            Contribution {
                page: "one",
                document: &first,
            },
            Contribution {
                page: "two",
                document: &second,
            },
        ];
        let preference = Preference {
            pointer: "/info".to_owned(),
            page: "three".to_owned(),
        };

        let error = merge(&contributions, &[preference])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("/info: --prefer names three, which does not define it"),
            "{error}"
        );
    }

    #[test]
    fn reports_preferences_that_matched_no_conflict() {
        let only = fragment(json!({"info": {"version": "1"}}));
        let preference = Preference {
            pointer: "/info".to_owned(),
            page: "one".to_owned(),
        };

        let merged = merge(
            &[Contribution {
                page: "one",
                document: &only,
            }],
            std::slice::from_ref(&preference),
        );

        assert_eq!(merged.unwrap().unused, [preference]);
    }

    #[test]
    fn a_reference_no_page_defines_fails_naming_the_pages() {
        let first = fragment(json!({"paths": {"/a": {"get": {"$ref": "#/components/schemas/A"}}}}));
        let second = fragment(json!({
            "paths": {"/b": {"get": {"schema": {"$ref": "#/components/schemas/A"}}}},
            "components": {"schemas": {"B": {"$ref": "#/components/schemas/Gone"}}},
        }));
        let third = fragment(json!({"components": {"schemas": {"A": {"type": "string"}}}}));
        let mut contributions = vec![
            Contribution {
                page: "one",
                document: &first,
            },
            Contribution {
                page: "two",
                document: &second,
            },
        ];

        let error = merge(&contributions, &[]).unwrap_err().to_string();
        assert!(
            error.contains("  #/components/schemas/A (in one, two)\n"),
            "{error}"
        );
        assert!(
            error.contains("  #/components/schemas/Gone (in two)\n"),
            "{error}"
        );

        contributions.push(Contribution {
            page: "three",
            document: &third,
        });
        let error = merge(&contributions, &[]).unwrap_err().to_string();
        assert!(!error.contains("schemas/A "), "{error}");
        assert!(error.contains("schemas/Gone "), "{error}");
    }
}
