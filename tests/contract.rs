//! Contract tests: the generated client covers the vendor document.
//!
//! Every example in the vendor document (`openapi/kiwify-docs.yaml`, unmodified) must decode into
//! the generated type of its operation, and request examples must encode back from it: the
//! media-type examples of requests and responses, and the property examples of the component
//! schemas.

use kiwify::generated::{OPERATIONS, types};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn read(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_norway::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Decodes `example` as `T`, then checks that encoding gives back an equivalent document.
fn round_trip<T: DeserializeOwned + Serialize>(example: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(example.clone()).map_err(|error| error.to_string())?;
    serde_json::to_value(&typed).map_err(|error| error.to_string())
}

/// Decodes an example into the generated type named by the normalized document.
fn check(schema: &str, example: &Value) -> Result<Value, String> {
    match schema {
        "OAuthRequest" => round_trip::<types::OAuthRequest>(example),
        "OAuthSuccessResponse" => round_trip::<types::OAuthSuccessResponse>(example),
        "ApiError" => round_trip::<types::ApiError>(example),
        "AccountDetails" => round_trip::<types::AccountDetails>(example),
        "ProductsPage" => round_trip::<types::ProductsPage>(example),
        "Product" => round_trip::<types::Product>(example),
        "SalesPage" => round_trip::<types::SalesPage>(example),
        "Sale" => round_trip::<types::Sale>(example),
        "RefundRequest" => round_trip::<types::RefundRequest>(example),
        "SalesRefundResponse" => round_trip::<types::SalesRefundResponse>(example),
        "Stats" => round_trip::<types::Stats>(example),
        "Balance" => round_trip::<types::Balance>(example),
        "PayoutsPage" => round_trip::<types::PayoutsPage>(example),
        "Payout" => round_trip::<types::Payout>(example),
        "PayoutRequest" => round_trip::<types::PayoutRequest>(example),
        "PayoutResponse" => round_trip::<types::PayoutResponse>(example),
        "AffiliatesPage" => round_trip::<types::AffiliatesPage>(example),
        "Affiliate" => round_trip::<types::Affiliate>(example),
        "AffiliateRequest" => round_trip::<types::AffiliateRequest>(example),
        "WebhooksPage" => round_trip::<types::WebhooksPage>(example),
        "Webhook" => round_trip::<types::Webhook>(example),
        "WebhookRequest" => round_trip::<types::WebhookRequest>(example),
        "ParticipantsPage" => round_trip::<types::ParticipantsPage>(example),
        other => Err(format!(
            "no decoder for schema {other}: add it to this table"
        )),
    }
}

/// Media-type examples of one request body or response: `example` and every `examples.*.value`.
fn examples(media: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(example) = media.get("example") {
        out.push(("example".to_owned(), example.clone()));
    }
    for (name, example) in media["examples"].as_object().into_iter().flatten() {
        out.push((name.clone(), example["value"].clone()));
    }
    out
}

fn schema_of(document: &Value, node: &Value) -> Option<String> {
    let node = match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => document.pointer(&reference[1..])?,
        None => node,
    };
    let media = node["content"].as_object()?.values().next()?;
    let reference = media["schema"]["$ref"].as_str()?;
    Some(reference.rsplit('/').next()?.to_owned())
}

/// JSON equality up to what the tolerant types normalize: `"86400"` vs `86400`, absent vs null.
fn same_after_normalizing(original: &Value, encoded: &Value) -> bool {
    match (original, encoded) {
        (Value::Object(a), Value::Object(b)) => a.iter().all(|(key, value)| match b.get(key) {
            Some(other) => same_after_normalizing(value, other),
            // Absent, null and [] are the same thing to the generated types.
            None => value.is_null() || value.as_array().is_some_and(Vec::is_empty),
        }),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_after_normalizing(x, y))
        }
        (Value::String(text), other) if !other.is_string() => text == &other.to_string(),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

#[test]
fn every_vendor_example_decodes_into_the_generated_types() {
    let vendor = read("openapi/kiwify-docs.yaml");
    let normalized = read("openapi/kiwify.yaml");
    let mut checked = 0;
    let mut failures = Vec::new();

    for (path, item) in vendor["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let ours = &normalized["paths"][path][method];
            let mut cases = Vec::new();
            for (name, example) in examples(
                &operation["requestBody"]["content"]
                    .as_object()
                    .and_then(|c| c.values().next())
                    .cloned()
                    .unwrap_or(Value::Null),
            ) {
                let schema = schema_of(&normalized, &ours["requestBody"]);
                cases.push((format!("request {name}"), schema, example));
            }
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let media = response["content"]["application/json"].clone();
                let schema = match schema_of(&normalized, &ours["responses"][status]) {
                    Some(schema) => Some(schema),
                    // Vendor error responses are typed by the shared 4XX/5XX error.
                    None if !status.starts_with('2') => Some("ApiError".to_owned()),
                    None => None,
                };
                for (name, example) in examples(&media) {
                    cases.push((format!("{status} {name}"), schema.clone(), example));
                }
            }

            for (case, schema, example) in cases {
                checked += 1;
                let label = format!("{} {path} {case}", method.to_uppercase());
                let Some(schema) = schema else {
                    failures.push(format!("{label}: no schema in kiwify.yaml"));
                    continue;
                };
                match check(&schema, &example) {
                    Ok(encoded) if same_after_normalizing(&example, &encoded) => {}
                    Ok(encoded) => {
                        failures.push(format!("{label} ({schema}): re-encodes as {encoded}"))
                    }
                    Err(error) => failures.push(format!("{label} ({schema}): {error}")),
                }
            }
        }
    }

    assert!(
        failures.is_empty(),
        "examples that do not fit the generated types:\n{}",
        failures.join("\n")
    );
    // The vendor document has 31 media-type examples; fewer checked means the walk above lost some.
    assert_eq!(checked, 31, "number of vendor examples checked");
}

/// The schema of `kiwify.yaml` that stands for vendor schema `name`, or why its property
/// examples are not decoded.
fn normalized_schema_for(name: &str) -> Result<&str, &'static str> {
    match name {
        "OAuthErrorResponse" => Ok("ApiError"),
        // Its one example is `data: []` on an untyped array; the typed pages that replace it
        // are decoded from every list operation's media-type examples.
        "PaginatedResponse" => Err("replaced by one typed page per resource"),
        other => Ok(other),
    }
}

/// Property examples of the vendor's component schemas (`refunded: 'true'`, `expires_in:
/// '86400'`, amounts, dates) decode into the generated type through its tolerant fields.
/// Each is decoded on its own, beside the examples of the properties our schema requires, and
/// must encode back to an equivalent value.
///
/// Not decoded: parameter examples (`components.parameters.*.schema.example`), because the
/// client never decodes parameters: the builder takes typed Rust values and serializes them.
#[test]
fn every_vendor_property_example_decodes_into_the_generated_types() {
    let vendor = read("openapi/kiwify-docs.yaml");
    let normalized = read("openapi/kiwify.yaml");
    let mut checked = 0;
    let mut failures = Vec::new();

    for (name, schema) in vendor["components"]["schemas"]
        .as_object()
        .expect("schemas")
    {
        let properties = schema["properties"].as_object().into_iter().flatten();
        let examples: Vec<(&String, &Value)> = properties
            .filter_map(|(property, node)| Some((property, node.get("example")?)))
            .collect();
        if examples.is_empty() {
            continue;
        }
        let Ok(ours) = normalized_schema_for(name) else {
            continue;
        };
        let our_schema = &normalized["components"]["schemas"][ours];
        let required: Vec<&str> = our_schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();

        for (property, example) in &examples {
            checked += 1;
            let label = format!("{name}.{property} example {example}");
            if our_schema["properties"].get(property.as_str()).is_none() {
                failures.push(format!(
                    "{label}: {ours} in kiwify.yaml has no such property"
                ));
                continue;
            }
            let mut body = serde_json::Map::new();
            for field in &required {
                match examples.iter().find(|(other, _)| other.as_str() == *field) {
                    Some((_, value)) => body.insert(field.to_string(), (*value).clone()),
                    None => {
                        failures.push(format!("{label}: required {field} has no example"));
                        continue;
                    }
                };
            }
            body.insert(property.to_string(), (*example).clone());
            let body = Value::Object(body);
            match check(ours, &body) {
                Ok(encoded) if same_after_normalizing(example, &encoded[property.as_str()]) => {}
                Ok(encoded) => failures.push(format!("{label} ({ours}): re-encodes as {encoded}")),
                Err(error) => failures.push(format!("{label} ({ours}): {error}")),
            }
        }
    }

    assert!(
        failures.is_empty(),
        "property examples that do not fit the generated types:\n{}",
        failures.join("\n")
    );
    // 54 property examples in the vendor's schemas, less PaginatedResponse.data.
    assert_eq!(checked, 53, "number of vendor property examples checked");

    // The string example on a boolean (facts §8.4) is read as the boolean it means.
    let refunded =
        &vendor["components"]["schemas"]["SalesRefundResponse"]["properties"]["refunded"];
    assert_eq!(refunded["example"], "true");
    let response: types::SalesRefundResponse =
        serde_json::from_value(serde_json::json!({"refunded": refunded["example"]})).unwrap();
    assert_eq!(response.refunded.map(bool::from), Some(true));
}

#[test]
fn the_oauth_example_with_a_numeric_expires_in_decodes() {
    let body = r#"{"access_token":"a.b.c","token_type":"Bearer","expires_in":86400,"scope":"sales stats"}"#;
    let token: types::OAuthSuccessResponse = serde_json::from_str(body).unwrap();
    assert_eq!(token.expires_in.map(i64::from), Some(86400));
    assert!(token.scope.unwrap().contains("stats"));
    // The schema's own example types it as a string; both forms decode.
    let token: types::OAuthSuccessResponse =
        serde_json::from_str(r#"{"access_token":"x","expires_in":"86400"}"#).unwrap();
    assert_eq!(token.expires_in.map(i64::from), Some(86400));
}

#[test]
fn all_22_operations_exist_under_their_names() {
    let expected = [
        ("oauth_token", "POST", "/oauth/token"),
        ("get_account_details", "GET", "/account-details"),
        ("list_products", "GET", "/products"),
        ("get_product", "GET", "/products/{id}"),
        ("list_sales", "GET", "/sales"),
        ("get_sale", "GET", "/sales/{id}"),
        ("refund_sale", "POST", "/sales/{id}/refund"),
        ("get_stats", "GET", "/stats"),
        ("get_balance", "GET", "/balance"),
        (
            "get_legal_entity_balance",
            "GET",
            "/balance/{legal_entity_id}",
        ),
        ("list_payouts", "GET", "/payouts"),
        ("get_payout", "GET", "/payouts/{id}"),
        ("create_payout", "POST", "/payouts/"),
        ("list_affiliates", "GET", "/affiliates"),
        ("get_affiliate", "GET", "/affiliates/{id}"),
        ("update_affiliate", "PUT", "/affiliates/{id}"),
        ("list_webhooks", "GET", "/webhooks"),
        ("create_webhook", "POST", "/webhooks"),
        ("get_webhook", "GET", "/webhooks/{id}"),
        ("update_webhook", "PUT", "/webhooks/{id}"),
        ("delete_webhook", "DELETE", "/webhooks/{id}"),
        (
            "list_event_participants",
            "GET",
            "/events/{product_id}/participants",
        ),
    ];
    let mut generated: Vec<_> = OPERATIONS
        .iter()
        .map(|op| (op.id, op.method, op.path))
        .collect();
    let mut wanted = expected.to_vec();
    generated.sort();
    wanted.sort();
    assert_eq!(generated, wanted);
}

#[test]
fn tolerant_models_survive_drift() {
    // An unknown field, an unknown status and payment method, numbers as strings.
    let body = r#"{"id":"s1","status":"in_analysis","payment_method":"paypal","net_amount":"8853",
        "installments":"3","brand_new_field":{"x":1},"refunded_at":null}"#;
    let sale: types::Sale = serde_json::from_str(body).unwrap();
    assert_eq!(
        sale.status,
        Some(kiwify::model::SaleStatus::Other("in_analysis".into()))
    );
    assert_eq!(
        sale.payment_method.as_ref().map(|m| m.as_str()),
        Some("paypal")
    );
    assert_eq!(sale.net_amount.map(i64::from), Some(8853));
    assert_eq!(sale.installments.map(i64::from), Some(3));
    assert_eq!(sale.refunded_at, None);
}

#[test]
fn account_details_with_empty_strings_for_absent_values_decode() {
    // Account details send "" rather than null for what is absent, timestamps included.
    let body = r#"{"id":"SbX7kLm2Qp9RtZa","company_name":"","director_cpf":"","company_cnpj":"",
        "legal_entities":[{"id":"e1","active":true,"company_name":"","director_cpf":"",
        "company_cnpj":"","pix_key":"","created_at":"","updated_at":"2024-02-01T12:00:00.000Z"}]}"#;
    let account: types::AccountDetails = serde_json::from_str(body).unwrap();
    assert_eq!(account.legal_entities[0].created_at.as_deref(), Some(""));
    assert_eq!(
        account.legal_entities[0].updated_at.as_deref(),
        Some("2024-02-01T12:00:00.000Z")
    );
}
