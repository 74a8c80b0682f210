//! Snapshots of the generated surface: the operation table of the normalized document and the
//! generated code itself. A change to the spec or the corrections shows up here as a readable
//! diff; `cargo xtask regen` refreshes them and `cargo insta review` reviews them.

use serde_json::Value;

fn normalized() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/kiwify.yaml"))
        .expect("openapi/kiwify.yaml is readable");
    serde_norway::from_str(&text).expect("openapi/kiwify.yaml is valid YAML")
}

fn schema_name(schema: &Value) -> String {
    match (
        schema.get("$ref").and_then(Value::as_str),
        schema.get("type").and_then(Value::as_str),
    ) {
        (Some(reference), _) => reference.rsplit('/').next().unwrap_or(reference).to_owned(),
        (None, Some("array")) => format!("[{}]", schema_name(&schema["items"])),
        (None, Some(kind)) => match schema.get("format").and_then(Value::as_str) {
            Some(format) => format!("{kind}({format})"),
            None => kind.to_owned(),
        },
        (None, None) => "any".to_owned(),
    }
}

fn resolve<'a>(document: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => document.pointer(&reference[1..]).unwrap_or(node),
        None => node,
    }
}

#[test]
fn operation_table() {
    let document = normalized();
    // Sorted explicitly: serde_json's map order depends on workspace feature unification.
    let mut operations: Vec<(&String, &String, &Value)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .iter()
                .map(move |(method, op)| (path, method, op))
        })
        .collect();
    operations.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

    let mut table = String::new();
    for (path, method, operation) in operations {
        {
            let parameters: Vec<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|parameter| {
                    let parameter = resolve(&document, parameter);
                    let required = if parameter["required"] == Value::Bool(true) {
                        ""
                    } else {
                        "?"
                    };
                    format!(
                        "{}{required}: {} ({})",
                        parameter["name"].as_str().unwrap_or("?"),
                        schema_name(&parameter["schema"]),
                        parameter["in"].as_str().unwrap_or("?"),
                    )
                })
                .collect();
            let body = operation["requestBody"]["content"]
                .as_object()
                .and_then(|content| content.iter().next())
                .map(|(media, body)| format!("{} ({media})", schema_name(&body["schema"])))
                .unwrap_or_else(|| "-".to_owned());
            let mut responses: Vec<String> = operation["responses"]
                .as_object()
                .expect("responses")
                .iter()
                .map(|(status, response)| {
                    let response = resolve(&document, response);
                    let schema = response["content"]["application/json"]["schema"].clone();
                    let name = if schema.is_null() {
                        "empty".to_owned()
                    } else {
                        schema_name(&schema)
                    };
                    format!("{status} {name}")
                })
                .collect();
            responses.sort();
            table.push_str(&format!(
                "{} {} {path}\n  parameters: {}\n  body: {body}\n  responses: {}\n",
                operation["operationId"].as_str().unwrap_or("MISSING"),
                method.to_uppercase(),
                if parameters.is_empty() {
                    "-".to_owned()
                } else {
                    parameters.join(", ")
                },
                responses.join(", "),
            ));
        }
    }
    insta::assert_snapshot!("operations", table);
}

#[test]
fn generated_code() {
    insta::assert_snapshot!(
        "generated_code",
        include_str!(concat!(env!("OUT_DIR"), "/kiwify.rs"))
    );
}
