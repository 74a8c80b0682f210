//! The regen pipeline on the real documents: normalization is reproducible, a changed vendor
//! field is named in the drift, and a stale correction fails the run naming its target.

use std::path::{Path, PathBuf};

use serde_json::Value;
use xtask::{drift, normalize, overlay, regen, upstream, yaml};

fn openapi(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../openapi")
        .join(name)
}

fn vendor() -> Value {
    yaml::read(&openapi("kiwify-docs.yaml")).unwrap()
}

fn corrections() -> Value {
    yaml::read(&openapi("corrections.yaml")).unwrap()
}

#[test]
fn the_committed_normalized_document_is_what_regen_produces() {
    let normalized = normalize::normalize(&vendor(), &corrections()).unwrap();
    let rendered = normalize::render(&normalized).unwrap();
    let committed = std::fs::read_to_string(openapi("kiwify.yaml")).unwrap();
    if rendered != committed {
        let previous = yaml::parse(&committed).unwrap_or(Value::Null);
        let actions = overlay::parse(&corrections()).unwrap();
        let report = regen::drift_report(&previous, &normalized, &actions)
            .unwrap_or_else(|error| format!("(no drift report: {error:#})"));
        panic!("openapi/kiwify.yaml is stale; run `cargo xtask regen`.\n{report}");
    }
    assert!(committed.starts_with("# GENERATED FILE, DO NOT EDIT."));
}

/// Facts §1 and §8.19: every resource operation needs the bearer token and the account header;
/// the token operation needs neither.
#[test]
fn every_resource_operation_requires_the_token_and_the_account_header() {
    let normalized = normalize::normalize(&vendor(), &corrections()).unwrap();
    let mut resource_operations = 0;
    for (path, item) in normalized["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let security = &operation["security"];
            if operation["operationId"] == "oauth_token" {
                assert_eq!(security, &serde_json::json!([]), "{method} {path}");
                continue;
            }
            resource_operations += 1;
            let requirements = security.as_array().map(Vec::as_slice).unwrap_or_default();
            assert!(
                !requirements.is_empty()
                    && requirements.iter().all(|requirement| {
                        requirement.get("AccountIdHeader").is_some()
                            && requirement.get("OAuth2").is_some()
                    }),
                "{method} {path}: security {security}"
            );
        }
    }
    assert_eq!(resource_operations, 21);
}

#[test]
fn a_changed_vendor_field_is_named_in_the_drift() {
    let before = normalize::normalize(&vendor(), &corrections()).unwrap();
    let mut changed = vendor();
    changed["paths"]["/events/{product_id}/participants"]["get"]["parameters"][1]["schema"]["type"] =
        Value::from("string");
    let after = normalize::normalize(&changed, &corrections()).unwrap();

    let lines: Vec<String> = drift::diff(&before, &after)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            r#"~ paths["/events/{product_id}/participants"].get.parameters[name=checked_in,in=query].schema.type: "boolean" -> "string""#
        ]
    );
    assert_eq!(
        drift::operations(&before, &after),
        ["operation changed: GET /events/{product_id}/participants"]
    );
}

#[test]
fn parameters_added_or_removed_upstream_are_named() {
    let before = normalize::normalize(&vendor(), &corrections()).unwrap();
    let mut changed = vendor();
    let products = changed["paths"]["/products"]["get"]["parameters"]
        .as_array_mut()
        .unwrap();
    products.insert(
        0,
        serde_json::json!({"name": "search", "in": "query", "schema": {"type": "string"}}),
    );
    let events = changed["paths"]["/events/{product_id}/participants"]["get"]["parameters"]
        .as_array_mut()
        .unwrap();
    let removed = events.remove(1);
    assert_eq!(removed["name"], "checked_in");
    let after = normalize::normalize(&changed, &corrections()).unwrap();

    let lines: Vec<String> = drift::diff(&upstream::detach(&before), &upstream::detach(&after))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            r#"+ paths["/products"].get.parameters[name=search,in=query]"#,
            r#"- paths["/events/{product_id}/participants"].get.parameters[name=checked_in,in=query]"#,
        ]
    );
}

#[test]
fn a_correction_whose_target_vanished_upstream_fails_naming_it() {
    let mut upstream = vendor();
    upstream["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/payouts/");
    let error = format!(
        "{:#}",
        normalize::normalize(&upstream, &corrections()).unwrap_err()
    );
    assert!(error.contains("$.paths['/payouts/'].post"), "{error}");
}

/// The 400 responses are removed by one wildcard correction that expects 9 of them; an
/// operation that loses its 400 upstream makes the count wrong, and regen says so.
#[test]
fn a_wildcard_correction_that_matches_fewer_nodes_than_it_expects_fails_naming_it() {
    let mut upstream = vendor();
    upstream["paths"]["/stats"]["get"]["responses"]
        .as_object_mut()
        .unwrap()
        .shift_remove("400");
    let error = format!(
        "{:#}",
        normalize::normalize(&upstream, &corrections()).unwrap_err()
    );
    assert!(
        error.contains("$.paths.*.*.responses['400'] matches 8 node(s), x-expect says 9"),
        "{error}"
    );
}

#[test]
fn a_vendor_document_that_is_not_openapi_fails_with_its_path() {
    let mut broken = vendor();
    let ok = &mut broken["paths"]["/account-details"]["get"]["responses"]["200"];
    ok.as_object_mut().unwrap().remove("description");
    let error = format!(
        "{:#}",
        normalize::normalize(&broken, &corrections()).unwrap_err()
    );
    assert!(error.contains("/paths/~1account-details/get"), "{error}");
    assert!(error.contains("description"), "{error}");
}

#[test]
fn a_default_response_progenitor_would_panic_on_fails_with_its_pointer() {
    let mut upstream = vendor();
    upstream["paths"]["/sales"]["get"]["responses"]["default"] =
        serde_json::json!({"description": "Unexpected error"});
    let error = format!(
        "{:#}",
        normalize::normalize(&upstream, &corrections()).unwrap_err()
    );
    assert!(
        error.contains("/paths/~1sales/get/responses/default: a `default` response"),
        "{error}"
    );
}

/// Runs `cargo xtask regen --check --upstream` on `vendor` written to a temporary file; returns
/// whether it passed and its stderr, after checking that it wrote nothing.
fn regen_check_with(vendor: &Value, label: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("kiwify-regen-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let upstream = dir.join("kiwify-docs.yaml");
    std::fs::write(&upstream, serde_norway::to_string(vendor).unwrap()).unwrap();
    let normalized_before = std::fs::read(openapi("kiwify.yaml")).unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["regen", "--check", "--upstream"])
        .arg(&upstream)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(
        std::fs::read(openapi("kiwify.yaml")).unwrap(),
        normalized_before,
        "regen --check wrote openapi/kiwify.yaml"
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stderr)
}

/// The command itself, as CI runs it: a vendor document with one field changed and no regen
/// makes `cargo xtask regen --check` fail, name the field, and write nothing.
#[test]
fn regen_check_fails_on_an_unregenerated_vendor_change_and_names_the_field() {
    let mut changed = vendor();
    changed["paths"]["/events/{product_id}/participants"]["get"]["parameters"][1]["schema"]["type"] =
        Value::from("string");
    let (passed, stderr) = regen_check_with(&changed, "visible");

    assert!(!passed, "regen --check passed: {stderr}");
    assert!(stderr.contains("openapi/kiwify.yaml is stale"), "{stderr}");
    assert!(
        stderr.contains(
            r#"paths["/events/{product_id}/participants"].get.parameters[name=checked_in,in=query].schema.type: "boolean" -> "string""#
        ),
        "{stderr}"
    );
}

/// A change inside a schema that a correction removes and replaces never reaches the normalized
/// document; the fingerprint still makes the check fail, naming the field and the correction.
#[test]
fn regen_check_names_a_changed_field_inside_a_replaced_schema() {
    let mut changed = vendor();
    changed["components"]["schemas"]["Product"]["properties"]["price"]["type"] =
        Value::from("string");
    let normalized = normalize::normalize(&changed, &corrections()).unwrap();
    let committed = yaml::read(&openapi("kiwify.yaml")).unwrap();
    assert_eq!(
        upstream::detach(&normalized),
        upstream::detach(&committed),
        "the generator must not see this change: it is hidden by a correction"
    );

    let (passed, stderr) = regen_check_with(&changed, "hidden");

    assert!(!passed, "regen --check passed: {stderr}");
    assert!(
        stderr.contains(
            "upstream changed under correction $.components.schemas.Product (Nested arrays are \
             untyped and store_id, shipping_options, links are missing (facts §8.9).): review it\n    \
             ~ components.schemas.Product.properties.price\n"
        ),
        "{stderr}"
    );
}

/// Every kind of hidden vendor change is named: a field overwritten by a merge, one added
/// where a correction overwrites, an error response removed by a wildcard, a marker.
#[test]
fn hidden_vendor_changes_of_every_kind_are_named() {
    let actions = overlay::parse(&corrections()).unwrap();
    let before = normalize::normalize(&vendor(), &corrections()).unwrap();
    let mut changed = vendor();
    let sales = &mut changed["paths"]["/sales"]["get"];
    sales["tags"] = serde_json::json!(["Sales"]);
    sales["operationId"] = Value::from("getSales");
    sales["x-kiwify-recovery"]["source"] = Value::from("verbatim");
    let stats = &mut changed["paths"]["/stats"]["get"]["responses"]["400"];
    stats["description"] = Value::from("Auth error");
    let after = normalize::normalize(&changed, &corrections()).unwrap();

    let report = regen::drift_report(&before, &after, &actions).unwrap();
    for line in [
        r#"~ paths["/sales"].get.tags"#,
        r#"+ paths["/sales"].get.operationId"#,
        r#"~ paths["/sales"].get["x-kiwify-recovery"]"#,
        r#"~ paths["/stats"].get.responses.400.description"#,
        "upstream changed under correction $.paths.*.*.responses['400'] (Errors are typed once",
    ] {
        assert!(report.contains(line), "{line} missing from:\n{report}");
    }
    assert!(!report.contains("x-kiwify-upstream"), "{report}");
}
