//! The fingerprint of the vendor fields that corrections hide.
//!
//! A correction that removes a schema and adds its own, or overwrites a field, hides that part
//! of the vendor document: a later vendor change there leaves `openapi/kiwify.yaml` unchanged,
//! so comparing normalized documents cannot see it. `regen` therefore records, under the
//! root extension `x-kiwify-upstream` of `kiwify.yaml`, a short hash of every hidden vendor
//! field, grouped by the correction that hides it; comparing the recorded hashes with fresh ones
//! names each hidden field that changed upstream, and the correction to review.
//!
//! A field is a node small enough to name and big enough to stay readable: a scalar, an array
//! of scalars (an enum, a `required` list), an object of those (a schema property such as
//! `{type: string, example: BRL}`), or a whole `example`/`examples` block.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::drift;
use crate::overlay::{Action, Change, Edit};

/// The root extension of `kiwify.yaml` that holds the fingerprint.
pub const EXTENSION: &str = "x-kiwify-upstream";

/// The group of the `x-kiwify-recovery` provenance markers, which normalization strips.
pub const MARKERS: &str = "$..x-kiwify-recovery";
const MARKERS_REASON: &str =
    "provenance markers describe the reconstructed vendor document, not the API, and are stripped";

const DESCRIPTION: &str = "Hashes of the vendor fields that openapi/corrections.yaml replaces or \
    removes, by correction target, so that `cargo xtask regen --check` sees upstream changes the \
    corrections hide. Not read by build.rs.";

/// Hidden vendor fields by correction, in the order the corrections run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    pub groups: Vec<Group>,
}

/// The hidden fields of one correction target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The correction's `target` (or [`MARKERS`]).
    pub target: String,
    /// Indexes of the actions with that target that hide the fields; unknown (empty) in a
    /// fingerprint read back from a document.
    pub actions: Vec<usize>,
    /// Readable path of each field (drift-report syntax) and its hash.
    pub fields: Vec<(String, String)>,
}

/// Fingerprints the fields of `vendor` (as read, markers included) that `edits` hid.
pub fn fingerprint(vendor: &Value, edits: &[Edit], actions: &[Action]) -> Fingerprint {
    let mut stripped = vendor.clone();
    crate::normalize::strip_recovery_markers(&mut stripped);

    let mut fingerprint = Fingerprint::default();
    let mut markers = Vec::new();
    markers_in(vendor, String::new(), &mut markers);
    fingerprint.add(MARKERS, None, markers);

    // Each hidden vendor node, as a pointer into the vendor document; a node inside one already
    // hidden by an earlier edit is that edit's (it may be content a correction put there).
    let mut hidden: Vec<(String, usize)> = Vec::new();
    for (position, edit) in edits.iter().enumerate() {
        let pointer = vendor_pointer(&edit.pointer, &edits[..position]);
        let covered = hidden
            .iter()
            .any(|(root, _)| pointer == *root || pointer.starts_with(&format!("{root}/")));
        if !covered && stripped.pointer(&pointer).is_some() {
            hidden.push((pointer, edit.action));
        }
    }

    for (index, action) in actions.iter().enumerate() {
        let mut roots: Vec<&str> = hidden
            .iter()
            .filter(|(_, by)| *by == index)
            .map(|(pointer, _)| pointer.as_str())
            .collect();
        // A removal runs deepest node first; list its fields in document order.
        if matches!(action.change, Change::Remove) {
            roots.reverse();
        }
        let mut fields = Vec::new();
        for root in roots {
            if let Some(node) = stripped.pointer(root) {
                fields_in(node, drift::readable(&stripped, root), &mut fields);
            }
        }
        fingerprint.add(&action.target, Some(index), fields);
    }
    fingerprint
}

impl Fingerprint {
    /// Adds the fields to the group of `target`, less those an earlier correction already hides.
    fn add(&mut self, target: &str, action: Option<usize>, fields: Vec<(String, String)>) {
        let fields: Vec<_> = fields
            .into_iter()
            .filter(|(path, _)| self.hash_of(path).is_none())
            .collect();
        if fields.is_empty() {
            return;
        }
        let group = match self.groups.iter().position(|group| group.target == target) {
            Some(position) => &mut self.groups[position],
            None => {
                self.groups.push(Group {
                    target: target.to_owned(),
                    actions: Vec::new(),
                    fields: Vec::new(),
                });
                self.groups.last_mut().expect("just pushed")
            }
        };
        group.actions.extend(action);
        group.fields.extend(fields);
    }

    /// The value of the [`EXTENSION`].
    pub fn to_value(&self) -> Value {
        let masked: Map<String, Value> = self
            .groups
            .iter()
            .map(|group| {
                let fields = group
                    .fields
                    .iter()
                    .map(|(path, hash)| (path.clone(), Value::from(hash.as_str())))
                    .collect();
                (group.target.clone(), Value::Object(fields))
            })
            .collect();
        serde_json::json!({"description": DESCRIPTION, "masked": masked})
    }

    /// Reads the [`EXTENSION`] of a normalized document; empty when it has none.
    pub fn of(document: &Value) -> Result<Fingerprint> {
        let Some(extension) = document.get(EXTENSION) else {
            return Ok(Fingerprint::default());
        };
        let masked = extension["masked"]
            .as_object()
            .with_context(|| format!("{EXTENSION}.masked is not a mapping"))?;
        let mut groups = Vec::new();
        for (target, fields) in masked {
            let fields = fields
                .as_object()
                .with_context(|| format!("{EXTENSION}.masked[{target:?}] is not a mapping"))?
                .iter()
                .map(|(path, hash)| (path.clone(), hash.as_str().unwrap_or_default().to_owned()))
                .collect();
            groups.push(Group {
                target: target.clone(),
                actions: Vec::new(),
                fields,
            });
        }
        Ok(Fingerprint { groups })
    }

    fn hash_of(&self, path: &str) -> Option<(&str, &str)> {
        self.groups.iter().find_map(|group| {
            group
                .fields
                .iter()
                .find(|(known, _)| known == path)
                .map(|(_, hash)| (group.target.as_str(), hash.as_str()))
        })
    }
}

/// Attaches the fingerprint to a normalized document, as its last root key.
pub fn attach(document: &mut Value, fingerprint: &Fingerprint) {
    if let Some(root) = document.as_object_mut() {
        root.shift_remove(EXTENSION);
        root.insert(EXTENSION.to_owned(), fingerprint.to_value());
    }
}

/// The document without its fingerprint, for comparing what the generator reads.
pub fn detach(document: &Value) -> Value {
    let mut document = document.clone();
    if let Some(root) = document.as_object_mut() {
        root.shift_remove(EXTENSION);
    }
    document
}

/// One report block per correction whose hidden vendor fields changed between `old` and `new`:
/// `upstream changed under correction TARGET (REASON): review it`, then `~`, `+` or `-` and the
/// field. A field that only moved to another correction is not a change upstream.
pub fn changes<'a>(old: &'a Fingerprint, new: &'a Fingerprint, actions: &[Action]) -> Vec<String> {
    let mut blocks: Vec<(&Group, Vec<String>)> = Vec::new();
    let mut note = |group: &'a Group, line: String| match blocks
        .iter_mut()
        .find(|(known, _)| known.target == group.target)
    {
        Some((_, lines)) => lines.push(line),
        None => blocks.push((group, vec![line])),
    };
    for group in &new.groups {
        for (path, hash) in &group.fields {
            match old.hash_of(path) {
                None => note(group, format!("+ {path}")),
                Some((_, previous)) if previous != hash => note(group, format!("~ {path}")),
                Some(_) => {}
            }
        }
    }
    for group in &old.groups {
        for (path, _) in &group.fields {
            if new.hash_of(path).is_none() {
                let group = new
                    .groups
                    .iter()
                    .find(|known| known.target == group.target)
                    .unwrap_or(group);
                note(group, format!("- {path}"));
            }
        }
    }

    blocks
        .into_iter()
        .map(|(group, lines)| {
            let mut block = format!(
                "upstream changed under correction {} ({}): review it",
                group.target,
                reason(group, actions)
            );
            for line in lines {
                let _ = write!(block, "\n    {line}");
            }
            block
        })
        .collect()
}

/// The descriptions of the actions that hide the group's fields (of every action with its
/// target when that is unknown).
fn reason(group: &Group, actions: &[Action]) -> String {
    if group.target == MARKERS {
        return MARKERS_REASON.to_owned();
    }
    let reasons: Vec<&str> = actions
        .iter()
        .enumerate()
        .filter(|(index, action)| {
            action.target == group.target
                && (group.actions.is_empty() || group.actions.contains(index))
        })
        .map(|(_, action)| action.description.as_str())
        .collect();
    if reasons.is_empty() {
        "no longer in openapi/corrections.yaml".to_owned()
    } else {
        reasons.join(" / ")
    }
}

/// Maps a pointer of the document as it stood before `earlier[len]` back to the vendor document,
/// undoing the index shifts of the array items the earlier edits deleted.
fn vendor_pointer(pointer: &str, earlier: &[Edit]) -> String {
    let mut pointer = pointer.to_owned();
    for edit in earlier.iter().rev().filter(|edit| edit.removed_item) {
        let Some((array, removed)) = edit.pointer.rsplit_once('/') else {
            continue;
        };
        let (Some(rest), Ok(removed)) = (
            pointer.strip_prefix(&format!("{array}/")),
            removed.parse::<usize>(),
        ) else {
            continue;
        };
        let (index, tail) = rest.split_once('/').map_or((rest, ""), |(i, t)| (i, t));
        if let Ok(index) = index.parse::<usize>()
            && index >= removed
        {
            let tail = if tail.is_empty() {
                String::new()
            } else {
                format!("/{tail}")
            };
            pointer = format!("{array}/{}{tail}", index + 1);
        }
    }
    pointer
}

/// The fields of `node` at readable `path`, each with its hash.
fn fields_in(node: &Value, path: String, out: &mut Vec<(String, String)>) {
    let is_example = path.ends_with(".example") || path.ends_with(".examples");
    match node {
        Value::Object(map) if !is_example && !is_field(node) => {
            for (key, child) in map {
                fields_in(child, drift::join_key(&path, key), out);
            }
        }
        Value::Array(items) if !is_example && !is_field(node) => {
            for (index, child) in items.iter().enumerate() {
                fields_in(child, drift::join_item(&path, items, index), out);
            }
        }
        _ => out.push((path, hash(node))),
    }
}

/// A scalar, an array of scalars, or an object whose values are those.
fn is_field(node: &Value) -> bool {
    let flat = |value: &Value| match value {
        Value::Array(items) => items
            .iter()
            .all(|item| !item.is_object() && !item.is_array()),
        Value::Object(_) => false,
        _ => true,
    };
    match node {
        Value::Object(map) => map.values().all(flat),
        other => flat(other),
    }
}

fn markers_in(node: &Value, path: String, out: &mut Vec<(String, String)>) {
    match node {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = drift::join_key(&path, key);
                if key.starts_with("x-kiwify-recovery") {
                    out.push((child_path, hash(child)));
                } else {
                    markers_in(child, child_path, out);
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                markers_in(child, drift::join_item(&path, items, index), out);
            }
        }
        _ => {}
    }
}

/// 64-bit FNV-1a of the value's JSON with sorted keys, as 16 hex digits: stable across
/// toolchains (std's hasher is not) and blind to key order.
fn hash(value: &Value) -> String {
    let mut text = String::new();
    canonical(value, &mut text);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by_key(|(key, _)| *key);
            out.push('{');
            for (position, (key, child)) in entries.into_iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                canonical(child, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (position, child) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                canonical(child, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::overlay;

    fn run(vendor: &Value, actions: &Value) -> (Vec<Action>, Fingerprint) {
        let actions = overlay::parse(&json!({"overlay": "1.0.0", "actions": actions})).unwrap();
        let mut document = vendor.clone();
        crate::normalize::strip_recovery_markers(&mut document);
        let edits = overlay::apply(&mut document, &actions).unwrap();
        let fingerprint = fingerprint(vendor, &edits, &actions);
        (actions, fingerprint)
    }

    fn paths(fingerprint: &Fingerprint) -> Vec<(&str, &str)> {
        fingerprint
            .groups
            .iter()
            .flat_map(|group| {
                group
                    .fields
                    .iter()
                    .map(move |(path, _)| (group.target.as_str(), path.as_str()))
            })
            .collect()
    }

    #[test]
    fn removed_and_overwritten_vendor_fields_are_fingerprinted_added_ones_are_not() {
        let vendor = json!({
            "components": {"schemas": {"P": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "n": {"type": "array", "items": {}}},
            }}},
            "paths": {"/a": {"get": {"summary": "s", "x-kiwify-recovery": {"source": "rendered"}}}},
        });
        let actions = json!([
            {"target": "$.components.schemas.P", "description": "replaced", "remove": true},
            {"target": "$.paths['/a'].get", "description": "ids", "update": {"summary": "t", "operationId": "a"}},
            {"target": "$.components.schemas", "description": "re-added", "update": {"P": {"type": "string"}}},
        ]);
        let (_, fingerprint) = run(&vendor, &actions);
        assert_eq!(
            paths(&fingerprint),
            [
                (MARKERS, r#"paths["/a"].get["x-kiwify-recovery"]"#),
                ("$.components.schemas.P", "components.schemas.P.type"),
                ("$.components.schemas.P", "components.schemas.P.required"),
                (
                    "$.components.schemas.P",
                    "components.schemas.P.properties.id"
                ),
                (
                    "$.components.schemas.P",
                    "components.schemas.P.properties.n.type"
                ),
                (
                    "$.components.schemas.P",
                    "components.schemas.P.properties.n.items"
                ),
                ("$.paths['/a'].get", r#"paths["/a"].get.summary"#),
            ]
        );
    }

    #[test]
    fn a_hidden_field_that_changes_upstream_is_named_with_its_correction() {
        let vendor = json!({"components": {"schemas": {"P": {"properties": {
            "id": {"type": "string"}, "price": {"type": "number"}, "gone": {"type": "string"},
        }}}}});
        let actions =
            json!([{"target": "$.components.schemas.P", "description": "cents", "remove": true}]);
        let (_, before) = run(&vendor, &actions);

        let mut changed = vendor.clone();
        let properties = &mut changed["components"]["schemas"]["P"]["properties"];
        properties["price"]["type"] = json!("integer");
        properties["new"] = json!({"type": "string"});
        properties.as_object_mut().unwrap().shift_remove("gone");
        let (actions, after) = run(&changed, &actions);

        assert_eq!(
            changes(&before, &after, &actions),
            [
                "upstream changed under correction $.components.schemas.P (cents): review it\n    \
              ~ components.schemas.P.properties.price\n    \
              + components.schemas.P.properties.new\n    \
              - components.schemas.P.properties.gone"
            ]
        );
        assert!(changes(&after, &after, &actions).is_empty());
    }

    #[test]
    fn the_fingerprint_survives_the_document_extension() {
        let vendor = json!({"a": {"b": 1, "c": [1, 2]}});
        let (_, fingerprint) = run(
            &vendor,
            &json!([{"target": "$.a", "description": "x", "remove": true}]),
        );
        let mut document = json!({"openapi": "3.0.3"});
        attach(&mut document, &fingerprint);
        let read_back = Fingerprint::of(&document).unwrap();
        assert_eq!(paths(&read_back), paths(&fingerprint));
        assert_eq!(read_back.groups[0].fields, fingerprint.groups[0].fields);
        assert_eq!(detach(&document), json!({"openapi": "3.0.3"}));
    }

    #[test]
    fn pointers_after_a_deleted_array_item_map_back_to_the_vendor_item() {
        let vendor = json!({"list": [{"v": 0}, {"v": 1}, {"v": 2}]});
        let actions = json!([
            {"target": "$.list[0]", "description": "drop the first", "remove": true},
            {"target": "$.list[1]", "description": "overwrite the third", "update": {"v": 9}},
        ]);
        let (_, fingerprint) = run(&vendor, &actions);
        assert_eq!(
            paths(&fingerprint),
            [("$.list[0]", "list[0]"), ("$.list[1]", "list[2].v"),]
        );
    }

    #[test]
    fn a_field_hidden_twice_belongs_to_the_first_correction() {
        let vendor = json!({"a": {"b": 1, "c": {"d": 2}}});
        let actions = json!([
            {"target": "$.a", "description": "first", "update": {"b": 5}},
            {"target": "$['a']", "description": "then", "remove": true},
        ]);
        let (_, fingerprint) = run(&vendor, &actions);
        assert_eq!(paths(&fingerprint), [("$.a", "a.b"), ("$['a']", "a.c")]);
    }

    #[test]
    fn hashes_ignore_key_order_but_not_values() {
        assert_eq!(
            hash(&json!({"a": 1, "b": 2})),
            hash(&json!({"b": 2, "a": 1}))
        );
        assert_ne!(hash(&json!({"a": 1})), hash(&json!({"a": "1"})));
    }
}
