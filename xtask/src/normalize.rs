//! Vendor document + corrections -> the normalized OpenAPI 3.0.3 document `build.rs` reads.

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::openapi::{self, is_method};
use crate::pointer::{escape, join};
use crate::{overlay, upstream, yaml};

/// The header of the generated `openapi/kiwify.yaml`.
pub const HEADER: &str = "\
# GENERATED FILE, DO NOT EDIT.
# Produced by `cargo xtask regen` from openapi/kiwify-docs.yaml (the vendor document, unmodified)
# and openapi/corrections.yaml (the project's reviewed corrections, an OpenAPI Overlay 1.0 file).
# To change it, edit corrections.yaml (or update the vendor document) and run `cargo xtask regen`.
";

/// Normalizes the vendor document with the corrections. The result ends with the fingerprint
/// of the vendor fields the corrections hide (see [`upstream`]).
pub fn normalize(vendor: &Value, corrections: &Value) -> Result<Value> {
    let mut document = vendor.clone();
    strip_recovery_markers(&mut document);
    let actions = overlay::parse(corrections).context("openapi/corrections.yaml")?;
    let edits = overlay::apply(&mut document, &actions)?;

    check_openapi_30(&document, "")?;
    validate(&document)?;
    upstream::attach(
        &mut document,
        &upstream::fingerprint(vendor, &edits, &actions),
    );
    Ok(document)
}

/// Renders the normalized document as YAML behind the generated-file header.
pub fn render(document: &Value) -> Result<String> {
    Ok(format!("{HEADER}{}", yaml::to_string(document)?))
}

/// Removes the `x-kiwify-recovery` provenance markers: they describe the vendor document, not
/// the API, and must not reach the generator.
pub fn strip_recovery_markers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with("x-kiwify-recovery"));
            map.values_mut().for_each(strip_recovery_markers);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_recovery_markers),
        _ => {}
    }
}

/// Fails on OpenAPI 3.1 / JSON Schema 2020-12 constructs that 3.0.3 cannot express, naming the
/// JSON pointer of the first one found.
fn check_openapi_30(value: &Value, pointer: &str) -> Result<()> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = join(pointer, key);
                let only_31 = matches!(
                    key.as_str(),
                    "const"
                        | "prefixItems"
                        | "unevaluatedProperties"
                        | "$defs"
                        | "jsonSchemaDialect"
                ) || (key == "type" && child.is_array());
                if only_31 && !is_inside_example(&here) {
                    bail!("OpenAPI 3.1-only construct `{key}` at {here}: add a correction for it");
                }
                check_openapi_30(child, &here)?;
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                check_openapi_30(child, &format!("{pointer}/{index}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_inside_example(pointer: &str) -> bool {
    pointer.contains("/example/") || pointer.contains("/examples/")
}

/// Structural checks: the document deserializes as OpenAPI 3.0, every operation has a unique
/// operationId, and every `$ref` resolves.
fn validate(document: &Value) -> Result<()> {
    if let Err(error) = serde_json::from_value::<openapiv3::OpenAPI>(document.clone()) {
        return Err(locate_invalid(document)
            .unwrap_or_else(|| anyhow::anyhow!("not a valid OpenAPI 3.0 document: {error}")));
    }

    let mut seen = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if !is_method(method) {
                continue;
            }
            let id = operation["operationId"]
                .as_str()
                .with_context(|| format!("{} {path} has no operationId", method.to_uppercase()))?;
            if !seen.insert(id.to_owned()) {
                bail!("operationId {id} is used twice");
            }
        }
    }
    check_refs(document)?;
    check_generator_limits(document)
}

/// Fails on what progenitor 0.15 accepts as OpenAPI but panics on (`panic!`, `todo!`,
/// `assert!` in progenitor-impl), naming the JSON pointer of every such node: in `build.rs`
/// that would be a panic in the user's build instead of a message.
fn check_generator_limits(document: &Value) -> Result<()> {
    let mut problems = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        let item_pointer = format!("/paths/{}", escape(path));
        if item.get("$ref").is_some() {
            problems.push(format!("{item_pointer}: a path item $ref is not supported"));
            continue;
        }
        for (method, operation) in item.as_object().into_iter().flatten() {
            if is_method(method) {
                operation_limits(
                    document,
                    operation,
                    &format!("{item_pointer}/{method}"),
                    &mut problems,
                );
            }
        }
    }
    schema_limits(document, "", &mut problems);
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "progenitor cannot generate a client from this document:\n  {}",
        problems.join("\n  ")
    )
}

fn operation_limits(
    document: &Value,
    operation: &Value,
    pointer: &str,
    problems: &mut Vec<String>,
) {
    let resolve = |node: &'_ Value| -> Value {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .strip_prefix('#')
                .and_then(|target| document.pointer(target))
                .cloned()
                .unwrap_or(Value::Null),
            None => node.clone(),
        }
    };

    for (index, parameter) in operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let parameter = resolve(parameter);
        if parameter["in"] == "path" && parameter["required"] != true {
            problems.push(format!(
                "{pointer}/parameters/{index}: path parameter `{}` must be `required: true`",
                parameter["name"].as_str().unwrap_or("?")
            ));
        }
    }

    let body = resolve(&operation["requestBody"]);
    if let Some(content) = body["content"].as_object() {
        if content.len() > 1 {
            problems.push(format!(
                "{pointer}/requestBody/content: {} media types; progenitor takes one",
                content.len()
            ));
        }
        for (media, entry) in content {
            if entry["encoding"]
                .as_object()
                .is_some_and(|encoding| !encoding.is_empty())
            {
                problems.push(format!(
                    "{pointer}/requestBody/content/{}/encoding is not supported",
                    escape(media)
                ));
            }
        }
    }

    // Per class of status, progenitor makes one Rust type: every response must have the same body.
    let mut success: Vec<(String, Value)> = Vec::new();
    let mut error: Vec<(String, Value)> = Vec::new();
    for (status, response) in operation["responses"].as_object().into_iter().flatten() {
        let here = format!("{pointer}/responses/{}", escape(status));
        if status == "default" {
            problems.push(format!(
                "{here}: a `default` response is not supported (progenitor panics on one beside \
                 a typed 2xx); type errors under 4XX/5XX instead"
            ));
            continue;
        }
        let response = resolve(response);
        let json = response["content"].as_object().and_then(|content| {
            content.iter().find(|(media, _)| {
                media.as_str() == "application/json" || media.starts_with("application/json;")
            })
        });
        let body = match json {
            Some((media, entry)) => {
                if entry["encoding"]
                    .as_object()
                    .is_some_and(|encoding| !encoding.is_empty())
                {
                    problems.push(format!(
                        "{here}/content/{}/encoding is not supported",
                        escape(media)
                    ));
                }
                match entry.get("schema") {
                    Some(schema) => schema.clone(),
                    None => {
                        problems.push(format!(
                            "{here}/content/{}: a JSON response needs a schema",
                            escape(media)
                        ));
                        continue;
                    }
                }
            }
            None if response["content"]
                .as_object()
                .is_some_and(|content| !content.is_empty()) =>
            {
                Value::from("raw body")
            }
            None => Value::from("no body"),
        };
        let class = status.chars().next();
        match class {
            Some('2') => success.push((here, body)),
            Some('4' | '5') => error.push((here, body)),
            _ => {}
        }
    }
    for (responses, what) in [(&success, "success"), (&error, "error")] {
        if let Some((first, body)) = responses.first()
            && let Some((other, _)) = responses.iter().find(|(_, other)| other != body)
        {
            problems.push(format!(
                "{other}: its body differs from {first}; progenitor needs one {what} type per operation"
            ));
        }
    }
}

/// `exclusiveMinimum`/`exclusiveMaximum: true` without the bound is a `todo!` in progenitor.
fn schema_limits(value: &Value, pointer: &str, problems: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (flag, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if map.get(flag) == Some(&Value::Bool(true)) && !map.contains_key(bound) {
                    problems.push(format!("{pointer}/{flag}: true without `{bound}`"));
                }
            }
            for (key, child) in map {
                if key != "example" && key != "examples" {
                    schema_limits(child, &format!("{pointer}/{}", escape(key)), problems);
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                schema_limits(child, &format!("{pointer}/{index}"), problems);
            }
        }
        _ => {}
    }
}

/// Finds which part of the document makes it invalid, and where inside it: the whole-document
/// error of openapiv3 loses the path. Each top-level key, path item, operation and component
/// is checked on its own; the first invalid one is named by its JSON pointer.
fn locate_invalid(document: &Value) -> Option<anyhow::Error> {
    use openapiv3::{ReferenceOr, *};

    fn check<T: serde::de::DeserializeOwned>(
        value: &Value,
        pointer: &str,
    ) -> Option<anyhow::Error> {
        let text = serde_json::to_string(value).ok()?;
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        let error = serde_path_to_error::deserialize::<_, T>(&mut deserializer).err()?;
        Some(anyhow::anyhow!(
            "not a valid OpenAPI 3.0 document at {pointer} ({}): {}",
            error.path(),
            error.inner()
        ))
    }
    let root = document.as_object()?;

    for (key, value) in root {
        let pointer = join("", key);
        let error = match key.as_str() {
            "openapi" => check::<String>(value, &pointer),
            "info" => check::<Info>(value, &pointer),
            "servers" => check::<Vec<Server>>(value, &pointer),
            "security" => check::<Vec<SecurityRequirement>>(value, &pointer),
            "tags" => check::<Vec<Tag>>(value, &pointer),
            "externalDocs" => check::<ExternalDocumentation>(value, &pointer),
            _ => None,
        };
        if error.is_some() {
            return error;
        }
    }

    for (path, item) in root
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let item_pointer = join("/paths", path);
        for (method, operation) in item.as_object().into_iter().flatten() {
            if is_method(method) {
                let error = check::<Operation>(operation, &join(&item_pointer, method));
                if error.is_some() {
                    return error;
                }
            }
        }
        // What is left of the path item: its parameters, servers and summary.
        let mut rest = item.clone();
        if let Some(rest) = rest.as_object_mut() {
            rest.retain(|key, _| !is_method(key));
        }
        if let Some(error) = check::<ReferenceOr<PathItem>>(&rest, &item_pointer) {
            return Some(error);
        }
    }

    let components = root.get("components").and_then(Value::as_object);
    for (section, entries) in components.into_iter().flatten() {
        let section_pointer = join("/components", section);
        let Some(entries) = entries.as_object() else {
            continue;
        };
        for (name, value) in entries {
            let pointer = join(&section_pointer, name);
            let error = match section.as_str() {
                "schemas" => check::<ReferenceOr<Schema>>(value, &pointer),
                "responses" => check::<ReferenceOr<Response>>(value, &pointer),
                "parameters" => check::<ReferenceOr<Parameter>>(value, &pointer),
                "examples" => check::<ReferenceOr<Example>>(value, &pointer),
                "requestBodies" => check::<ReferenceOr<RequestBody>>(value, &pointer),
                "headers" => check::<ReferenceOr<Header>>(value, &pointer),
                "securitySchemes" => check::<ReferenceOr<SecurityScheme>>(value, &pointer),
                "links" => check::<ReferenceOr<Link>>(value, &pointer),
                "callbacks" => check::<ReferenceOr<Callback>>(value, &pointer),
                _ => None,
            };
            if error.is_some() {
                return error;
            }
        }
    }
    None
}

fn check_refs(document: &Value) -> Result<()> {
    for (at, reference) in openapi::references(document, "") {
        let target = reference
            .strip_prefix('#')
            .with_context(|| format!("external $ref {reference} at {at}"))?;
        if document.pointer(target).is_none() {
            bail!("$ref {reference} at {at} does not resolve");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markers_are_stripped_at_every_depth() {
        let mut value = json!({"x-kiwify-recovery": 1, "a": [{"x-kiwify-recovery": 2, "b": 3}]});
        strip_recovery_markers(&mut value);
        assert_eq!(value, json!({"a": [{"b": 3}]}));
    }

    #[test]
    fn type_arrays_are_refused_with_their_pointer() {
        let value = json!({"components": {"schemas": {"A": {"type": ["string", "null"]}}}});
        let error = check_openapi_30(&value, "").unwrap_err().to_string();
        assert!(error.contains("/components/schemas/A/type"), "{error}");
    }

    fn minimal(operation: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/a/{id}": {"get": operation}},
        })
    }

    #[test]
    fn a_default_response_is_refused_with_its_pointer() {
        let document = minimal(json!({
            "operationId": "a",
            "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "string"}}}},
                "default": {"description": "error"},
            },
        }));
        let error = validate(&document).unwrap_err().to_string();
        assert!(
            error.contains("/paths/~1a~1{id}/get/responses/default: a `default` response"),
            "{error}"
        );
    }

    #[test]
    fn what_progenitor_panics_on_is_refused_with_pointers() {
        let json = |schema: Value| json!({"application/json": {"schema": schema}});
        let document = minimal(json!({
            "operationId": "a",
            "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
            "requestBody": {"content": {"application/json": {"schema": {}}, "text/plain": {"schema": {}}}},
            "responses": {
                "200": {"description": "ok", "content": json(json!({"type": "string"}))},
                "201": {"description": "ok", "content": json(json!({"type": "integer", "exclusiveMinimum": true}))},
                "4XX": {"description": "e", "content": json(json!({"type": "string"}))},
                "404": {"description": "e"},
            },
        }));
        let error = validate(&document).unwrap_err().to_string();
        for expected in [
            "/paths/~1a~1{id}/get/parameters/0: path parameter `id` must be `required: true`",
            "/paths/~1a~1{id}/get/requestBody/content: 2 media types",
            "/paths/~1a~1{id}/get/responses/201: its body differs from /paths/~1a~1{id}/get/responses/200; progenitor needs one success type",
            "/paths/~1a~1{id}/get/responses/404: its body differs from /paths/~1a~1{id}/get/responses/4XX; progenitor needs one error type",
            "/paths/~1a~1{id}/get/responses/201/content/application~1json/schema/exclusiveMinimum: true without `minimum`",
        ] {
            assert!(
                error.contains(expected),
                "{expected} missing from:\n{error}"
            );
        }
    }

    fn invalid_at(document: Value) -> String {
        format!("{:#}", validate(&document).unwrap_err())
    }

    #[test]
    fn invalid_nodes_outside_operations_and_schemas_are_located() {
        let base = minimal(json!({"operationId": "a", "responses": {}}));
        let with = |pointer: &str, value: Value| {
            let mut document = base.clone();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            document
                .pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert(key.to_owned(), value);
            document
        };
        let components = |section: &str, value: Value| {
            let mut document = base.clone();
            document["components"] = json!({section: {"Thing": value}});
            document
        };
        for (document, pointer) in [
            (with("/info", json!({"title": "t"})), "/info ("),
            (
                with("/servers", json!([{"description": "no url"}])),
                "/servers (",
            ),
            (
                with("/tags", json!([{"description": "no name"}])),
                "/tags (",
            ),
            (
                with("/paths/~1a~1{id}/parameters", json!([{"name": "id"}])),
                "/paths/~1a~1{id} (",
            ),
            (
                components("parameters", json!({"name": "x", "in": "nowhere"})),
                "/components/parameters/Thing (",
            ),
            (
                components("responses", json!({"content": {}})),
                "/components/responses/Thing (",
            ),
            (
                components("securitySchemes", json!({"type": "apiKey", "name": "x"})),
                "/components/securitySchemes/Thing (",
            ),
            (
                components("requestBodies", json!({"content": 1})),
                "/components/requestBodies/Thing (",
            ),
        ] {
            let error = invalid_at(document);
            assert!(
                error.contains(&format!("not a valid OpenAPI 3.0 document at {pointer}")),
                "{pointer}: {error}"
            );
        }
    }

    #[test]
    fn dangling_refs_are_named_by_an_escaped_pointer() {
        let mut document = minimal(json!({"operationId": "a", "responses": {}}));
        document["paths"]["/x~y"] = json!({"get": {"operationId": "b", "responses": {
            "200": {"$ref": "#/components/responses/Gone"},
        }}});
        let error = invalid_at(document);
        assert!(
            error.contains("at /paths/~1x~0y/get/responses/200 does not resolve"),
            "{error}"
        );
    }
}
