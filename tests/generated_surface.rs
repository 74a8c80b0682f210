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

/// The build script compiled for this package: the newest `build-script-build` beside the
/// `OUT_DIR` this test was compiled with (cargo rebuilt it before this test if build.rs changed).
fn build_script() -> std::path::PathBuf {
    let build_dir = std::path::Path::new(env!("OUT_DIR"))
        .ancestors()
        .nth(2)
        .expect("OUT_DIR is target/<profile>/build/kiwify-<hash>/out");
    std::fs::read_dir(build_dir)
        .expect("the build directory is readable")
        .filter_map(|entry| {
            let binary = entry.ok()?.path().join("build-script-build");
            let modified = binary.metadata().ok()?.modified().ok()?;
            Some((modified, binary))
        })
        .filter(|(_, binary)| {
            let directory = binary.parent().and_then(|dir| dir.file_name());
            directory.is_some_and(|name| name.to_string_lossy().starts_with("kiwify-"))
        })
        .max()
        .map(|(_, binary)| binary)
        .expect("a compiled build script for kiwify")
}

/// progenitor-impl 0.15 panics on some documents it parses (here a `default` response beside a
/// typed 200). `cargo xtask regen` refuses those; should one reach build.rs anyway, the build
/// fails with a message naming the file, not with a panic and a backtrace hint.
#[test]
fn the_build_script_turns_a_progenitor_panic_into_a_message_naming_the_spec() {
    let mut document = normalized();
    document["paths"]["/products"]["get"]["responses"]["default"] = serde_json::json!({
        "description": "Unexpected",
        "content": {"application/json": {"schema": {"type": "string"}}},
    });
    let dir = std::env::temp_dir().join(format!("kiwify-build-panic-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("openapi")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(
        dir.join("openapi/kiwify.yaml"),
        serde_norway::to_string(&document).unwrap(),
    )
    .unwrap();

    let output = std::process::Command::new(build_script())
        .current_dir(&dir)
        .env("OUT_DIR", dir.join("out"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: progenitor panicked on openapi/kiwify.yaml: "),
        "{stderr}"
    );
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
}
