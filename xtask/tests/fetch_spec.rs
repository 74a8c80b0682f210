//! `fetch-spec` on saved copies of the documentation site, built from the vendored document.
//!
//! The round trip cuts `openapi/kiwify-docs.yaml` into one page per operation, the way the site
//! publishes it, and checks that merging the pages gives the document back. The other tests
//! break one page at a time and check that the run fails naming it, and writes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use xtask::fetch_spec::{Options, Report, RetryPolicy, fetch_spec};
use xtask::openapi::is_method;
use xtask::yaml;

const SITE: &str = "https://docs.kiwify.com.br";
const HEADER_KEYS: [&str; 5] = ["openapi", "info", "servers", "security", "tags"];

/// A page as the site serves it: `path` under the site root, Markdown `text`.
#[derive(Clone)]
struct Page {
    path: String,
    text: String,
}

impl Page {
    fn url(&self) -> String {
        format!("{SITE}/{}", self.path)
    }
}

fn vendor() -> Value {
    yaml::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/kiwify-docs.yaml")).unwrap()
}

/// The site's page format: a note on the index, a title, then the fragment in a fence that
/// names the operation.
fn page_text(operation: &str, fragment: &Value) -> String {
    let yaml = serde_norway::to_string(fragment).unwrap();
    format!(
        "> ## Documentation Index\n\
         > Fetch the complete documentation index at: {SITE}/llms.txt\n\
         > Use this file to discover all available pages before exploring further.\n\n\
         # {operation}\n\n> A page of the API reference.\n\n\n\n## OpenAPI\n\n\
         ````yaml {operation}\n{yaml}````"
    )
}

/// One page per operation of `document`: its header, that operation, and the components it
/// reaches through `$ref`s and security requirements.
fn split(document: &Value) -> Vec<Page> {
    let mut pages = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let item = item.as_object().unwrap();
        for (method, operation) in item.iter().filter(|(key, _)| is_method(key)) {
            let mut path_item: Map<String, Value> = item
                .iter()
                .filter(|(key, _)| !is_method(key))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            path_item.insert(method.clone(), operation.clone());

            let mut fragment = Map::new();
            for key in HEADER_KEYS {
                if let Some(value) = document.get(key) {
                    fragment.insert(key.to_owned(), value.clone());
                }
            }
            fragment.insert("paths".to_owned(), json!({ path: path_item }));
            fragment.insert(
                "components".to_owned(),
                used_components(document, operation),
            );

            let slug: String = path.chars().filter(|c| !"{}".contains(*c)).collect();
            let number = pages.len() + 1;
            pages.push(Page {
                path: format!(
                    "api-reference/{number:02}-{method}{}.md",
                    slug.replace('/', "-")
                ),
                text: page_text(&format!("{method} {path}"), &Value::Object(fragment)),
            });
        }
    }
    pages
}

/// The components `operation` needs, transitively, in the document's order.
fn used_components(document: &Value, operation: &Value) -> Value {
    let mut wanted = BTreeSet::new();
    let mut queue = vec![operation.clone()];
    if let Some(security) = document.get("security") {
        queue.push(json!({ "security": security }));
    }
    while let Some(node) = queue.pop() {
        for (section, name) in references(&node) {
            if wanted.insert((section.clone(), name.clone())) {
                queue.push(document["components"][&section][&name].clone());
            }
        }
    }

    let mut components = Map::new();
    for (section, members) in document["components"].as_object().unwrap() {
        let used: Map<String, Value> = members
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| wanted.contains(&(section.clone(), (*name).clone())))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if !used.is_empty() {
            components.insert(section.clone(), Value::Object(used));
        }
    }
    Value::Object(components)
}

/// `(section, name)` of each `$ref: '#/components/…'` and each security scheme named in `node`.
fn references(node: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => {
                        let parts: Vec<&str> = target.split('/').collect();
                        if let ["#", "components", section, name] = parts.as_slice() {
                            found.push((section.to_string(), name.to_string()));
                        }
                    }
                    ("security", Value::Array(requirements)) => {
                        for scheme in requirements
                            .iter()
                            .filter_map(Value::as_object)
                            .flat_map(|r| r.keys())
                        {
                            found.push(("securitySchemes".to_owned(), scheme.clone()));
                        }
                    }
                    _ => found.extend(references(value)),
                }
            }
        }
        Value::Array(items) => found.extend(items.iter().flat_map(references)),
        _ => {}
    }
    found
}

/// A page of the banking API, which the same site documents and `fetch-spec` must leave out.
fn banking_page() -> Page {
    let fragment = json!({
        "openapi": "3.1.0",
        "info": {"title": "API Conta Digital", "version": "1.0.0"},
        "servers": [{"url": "https://conta-public-api.kiwify.com/v1"}],
        "paths": {"/banking/balance": {"get": {"summary": "Saldo da conta digital"}}},
    });
    Page {
        path: "api-reference/conta-digital/balance.md".to_owned(),
        text: page_text("get /banking/balance", &fragment),
    }
}

/// A guide outside the API reference. Its fragment would be merged if it were read.
fn guide_page() -> Page {
    let fragment = json!({
        "openapi": "3.1.0",
        "servers": [{"url": "https://public-api.kiwify.com/v1/"}],
        "paths": {"/not-a-reference-page": {"get": {"summary": "guide"}}},
    });
    Page {
        path: "guides/webhooks.md".to_owned(),
        text: page_text("get /not-a-reference-page", &fragment),
    }
}

/// The site's index: a Markdown list linking every page.
fn index_text(pages: &[Page]) -> String {
    let mut index = String::from("# Kiwify\n\n## Docs\n\n");
    for page in pages {
        index.push_str(&format!("- [{}]({}): a page\n", page.path, page.url()));
    }
    index
}

/// The vendor document's pages, plus a banking page and a guide that must both be left out.
fn site() -> Vec<Page> {
    let mut pages = split(&vendor());
    pages.insert(3, banking_page());
    pages.push(guide_page());
    pages
}

/// A fresh directory for one test, under the target directory.
fn scratch(test: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fetch_spec")
        .join(test);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// Saves `pages` and their index under `directory/site`, the way `--from DIR` reads them.
fn save(directory: &Path, index: &str, pages: &[Page]) -> PathBuf {
    let root = directory.join("site");
    for page in pages {
        let file = root.join(&page.path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, &page.text).unwrap();
    }
    std::fs::write(root.join("llms.txt"), index).unwrap();
    root
}

fn run_on(test: &str, pages: &[Page], prefer: &[&str]) -> (anyhow::Result<Report>, PathBuf) {
    let directory = scratch(test);
    let root = save(&directory, &index_text(pages), pages);
    let out = directory.join("out/kiwify-docs.yaml");
    let mut options = Options::new(root.to_str().unwrap(), &out);
    options.prefer = prefer.iter().map(|p| p.parse().unwrap()).collect();
    (fetch_spec(&options), out)
}

/// Runs on `pages` expecting failure; returns the message after checking nothing was written.
fn failure(test: &str, pages: &[Page]) -> String {
    let (result, out) = run_on(test, pages, &[]);
    let error = format!("{:#}", result.expect_err("the run should fail"));
    assert!(!out.exists(), "a failed run wrote {}", out.display());
    error
}

fn read_yaml(path: &Path) -> Value {
    yaml::read(path).unwrap()
}

fn keys(value: &Value) -> Vec<&String> {
    value.as_object().unwrap().keys().collect()
}

#[test]
fn round_trip_reproduces_the_paths_and_components_of_the_vendor_document() {
    let vendor = vendor();
    let pages = site();
    let directory = scratch("round_trip");
    let root = save(&directory, &index_text(&pages), &pages);
    let out = directory.join("kiwify-docs.yaml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/kiwify-docs.yaml"),
        &out,
    )
    .unwrap();

    let report = fetch_spec(&Options::new(root.to_str().unwrap(), &out)).unwrap();

    let fetched = read_yaml(&out);
    assert_eq!(fetched["paths"], vendor["paths"]);
    assert_eq!(
        keys(&fetched["paths"]),
        keys(&vendor["paths"]),
        "paths keep the index order"
    );
    assert_eq!(fetched["components"], vendor["components"]);
    for key in HEADER_KEYS {
        assert_eq!(fetched[key], vendor[key], "header key {key}");
    }
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("# Kiwify public API")
    );

    assert_eq!(report.pages, 22);
    assert_eq!(report.operations, 22);
    assert_eq!(report.outside_reference, 1, "the guide is not read");
    let banking = banking_page().url();
    assert!(
        report
            .skipped
            .iter()
            .any(|(page, reason)| *page == banking && reason.contains("banking"))
    );
    let changes = report.changes.as_ref().unwrap();
    assert!(
        changes.missing.is_empty() && changes.added.is_empty(),
        "{changes:?}"
    );

    // A second run over its own output changes nothing, byte for byte.
    let first = std::fs::read(&out).unwrap();
    fetch_spec(&Options::new(root.to_str().unwrap(), &out)).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), first);
}

#[test]
fn the_page_the_site_serves_gives_the_vendored_oauth_operation() {
    let served = include_str!("fixtures/auth-oauth.md");
    let page = Page {
        path: "api-reference/auth/oauth.md".to_owned(),
        text: served.to_owned(),
    };

    let (result, out) = run_on("served_page", &[page], &[]);

    result.unwrap();
    let fetched = read_yaml(&out);
    let vendor = vendor();
    assert_eq!(
        fetched["paths"]["/oauth/token"],
        vendor["paths"]["/oauth/token"]
    );
    assert_eq!(
        keys(&fetched["components"]["schemas"]),
        ["OAuthRequest", "OAuthSuccessResponse", "OAuthErrorResponse"]
    );
    for (name, schema) in fetched["components"]["schemas"].as_object().unwrap() {
        assert_eq!(
            *schema, vendor["components"]["schemas"][name],
            "schema {name}"
        );
    }
}

#[test]
fn an_operation_that_disappeared_is_reported() {
    let mut pages = site();
    pages.retain(|page| {
        !page
            .text
            .contains("````yaml get /events/{product_id}/participants")
    });
    let directory = scratch("disappeared");
    let root = save(&directory, &index_text(&pages), &pages);
    let out = directory.join("kiwify-docs.yaml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/kiwify-docs.yaml"),
        &out,
    )
    .unwrap();

    let report = fetch_spec(&Options::new(root.to_str().unwrap(), &out)).unwrap();

    let changes = report.changes.as_ref().unwrap();
    assert_eq!(changes.missing, ["GET /events/{product_id}/participants"]);
    assert!(changes.added.is_empty());
    assert!(report.to_string().contains("MISSING"), "{report}");
    assert!(
        report
            .to_string()
            .contains("  - GET /events/{product_id}/participants"),
        "{report}"
    );
}

/// A page whose schema lost a property still merges, and the report names the property in the
/// drift syntax `regen` uses, not only "changed".
#[test]
fn a_page_that_loses_a_property_is_reported_by_name() {
    let mut changed = vendor();
    let properties = &mut changed["components"]["schemas"]["Product"]["properties"];
    assert!(
        properties
            .as_object_mut()
            .unwrap()
            .shift_remove("price")
            .is_some()
    );
    let pages = split(&changed);
    let directory = scratch("lost_property");
    let root = save(&directory, &index_text(&pages), &pages);
    let out = directory.join("kiwify-docs.yaml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/kiwify-docs.yaml"),
        &out,
    )
    .unwrap();

    let report = fetch_spec(&Options::new(root.to_str().unwrap(), &out)).unwrap();

    let changes = report.changes.as_ref().unwrap();
    assert!(changes.missing.is_empty(), "{report}");
    let lines: Vec<String> = changes.changed.iter().map(ToString::to_string).collect();
    assert!(
        lines.contains(&"- components.schemas.Product.properties.price".to_owned()),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("changed on the site, field by field:\n"),
        "{report}"
    );
}

#[test]
fn an_index_without_reference_pages_fails() {
    let error = failure("no_reference_pages", &[guide_page()]);
    assert!(error.contains("lists no /api-reference/ pages"), "{error}");
}

#[test]
fn an_index_with_only_banking_pages_fails() {
    let error = failure("only_banking", &[banking_page()]);
    assert!(
        error.contains("embeds a fragment for public-api.kiwify.com"),
        "{error}"
    );
}

#[test]
fn a_page_without_a_fragment_fails_naming_the_page() {
    let mut pages = site();
    pages[5].text = "# Introdução\n\nA API da Kiwify.\n".to_owned();

    let error = failure("no_fragment", &pages);

    assert!(
        error.contains(&format!("{}: no OpenAPI fragment", pages[5].url())),
        "{error}"
    );
}

#[test]
fn a_fragment_that_is_not_yaml_fails_naming_the_page() {
    let mut pages = site();
    pages[2].text =
        "## OpenAPI\n\n````yaml get /products\nopenapi: 3.1.0\npaths: [unclosed\n````\n".to_owned();

    let error = failure("not_yaml", &pages);

    assert!(
        error.contains(&format!(
            "{}: in the fragment `get /products`: not valid YAML",
            pages[2].url()
        )),
        "{error}"
    );
}

#[test]
fn a_fragment_for_another_host_fails_naming_the_page() {
    let mut pages = site();
    pages[1].text = pages[1].text.replace(
        "https://public-api.kiwify.com/v1/",
        "https://api.example.com/v1/",
    );

    let error = failure("other_host", &pages);

    assert!(error.contains(&pages[1].url()), "{error}");
    assert!(error.contains("https://api.example.com/v1/"), "{error}");
}

#[test]
fn a_page_that_cannot_be_read_fails_naming_the_page() {
    let pages = site();
    let directory = scratch("unreadable");
    let root = save(&directory, &index_text(&pages), &pages[1..]);
    let out = directory.join("kiwify-docs.yaml");

    let error = format!(
        "{:#}",
        fetch_spec(&Options::new(root.to_str().unwrap(), &out)).unwrap_err()
    );

    assert!(
        error.contains(&format!("{}: reading the saved page", pages[0].url())),
        "{error}"
    );
    assert!(!out.exists());
}

#[test]
fn one_operation_defined_differently_by_two_pages_fails_unless_one_is_preferred() {
    let mut pages = site();
    let original = pages
        .iter()
        .find(|page| page.text.contains("````yaml get /sales\n"))
        .unwrap()
        .clone();
    let other = Page {
        path: "api-reference/sales/list-v2.md".to_owned(),
        text: original.text.replace("- Vendas\n", "- Vendas 2\n"),
    };
    assert_ne!(other.text, original.text);
    pages.push(other.clone());

    let error = failure("duplicate_operation", &pages);
    assert!(error.contains("/paths/~1sales/get\n"), "{error}");
    assert!(
        error.contains(&format!("version 1 from {}:", original.url())),
        "{error}"
    );
    assert!(
        error.contains(&format!("version 2 from {}:", other.url())),
        "{error}"
    );

    let prefer = format!("/paths/~1sales/get={}", other.url());
    let (result, out) = run_on("duplicate_operation_preferred", &pages, &[&prefer]);
    let report = result.unwrap();
    assert_eq!(
        read_yaml(&out)["paths"]["/sales"]["get"]["tags"],
        json!(["Vendas 2"])
    );
    assert_eq!(report.resolved.len(), 1);
}

#[test]
fn a_component_defined_differently_by_two_pages_fails_unless_one_is_preferred() {
    let mut pages = site();
    let stats = pages
        .iter()
        .position(|page| page.text.contains("````yaml get /stats\n"))
        .unwrap();
    pages[stats].text = pages[stats]
        .text
        .replace("example: auth_error", "example: token_error");
    let first_user = pages
        .iter()
        .find(|page| page.text.contains("example: auth_error"))
        .unwrap()
        .url();

    let error = failure("component_conflict", &pages);
    assert!(
        error.contains("/components/schemas/OAuthErrorResponse\n"),
        "{error}"
    );
    assert!(
        error.contains(&first_user) && error.contains(&pages[stats].url()),
        "{error}"
    );
    assert!(error.contains("example: token_error"), "{error}");

    let prefer = format!(
        "#/components/schemas/OAuthErrorResponse={}",
        pages[stats].url()
    );
    let (result, out) = run_on("component_conflict_preferred", &pages, &[&prefer]);
    result.unwrap();
    let schema = &read_yaml(&out)["components"]["schemas"]["OAuthErrorResponse"];
    assert_eq!(schema["properties"]["error"]["example"], "token_error");
}

// ---- The site over HTTP, on loopback ----

mod http {
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// Requests one test may make; the server stops accepting after that many.
    const MAX_REQUESTS: usize = 100;

    /// A loopback server for `pages` and the index. `failures` maps a path to the status it
    /// answers and how many times before it serves the page.
    struct Site {
        origin: String,
        hits: Arc<Mutex<HashMap<String, usize>>>,
    }

    impl Site {
        fn start(pages: &[Page], failures: &[(&str, u16, usize)]) -> Site {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let origin = format!("http://{}", listener.local_addr().unwrap());
            let mut files: HashMap<String, String> = pages
                .iter()
                .map(|page| (format!("/{}", page.path), page.text.clone()))
                .collect();
            // Relative links, resolved against the index URL.
            files.insert("/llms.txt".to_owned(), index_text(pages).replace(SITE, ""));
            let failures: HashMap<String, (u16, usize)> = failures
                .iter()
                .map(|(path, status, times)| (path.to_string(), (*status, *times)))
                .collect();
            let hits = Arc::new(Mutex::new(HashMap::new()));

            let counter = Arc::clone(&hits);
            std::thread::spawn(move || {
                for stream in listener.incoming().take(MAX_REQUESTS) {
                    let mut stream = stream.unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    reader.read_line(&mut request_line).unwrap();
                    let mut header = String::new();
                    while reader.read_line(&mut header).unwrap() > 2 {
                        header.clear();
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("/")
                        .to_owned();

                    let hit = {
                        let mut hits = counter.lock().unwrap();
                        let hit = hits.entry(path.clone()).or_insert(0);
                        *hit += 1;
                        *hit
                    };
                    let (status, body) = match (failures.get(&path), files.get(&path)) {
                        (Some((status, times)), _) if hit <= *times => {
                            (*status, "failing".to_owned())
                        }
                        (_, Some(body)) => (200, body.clone()),
                        _ => (404, "not found".to_owned()),
                    };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            Site { origin, hits }
        }

        fn hits(&self, path: &str) -> usize {
            self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
        }
    }

    fn options(site: &Site, out: &Path) -> Options {
        let mut options = Options::new(format!("{}/llms.txt", site.origin), out);
        options.retry = RetryPolicy {
            attempts: 3,
            backoff: Duration::ZERO,
        };
        options
    }

    #[test]
    fn reads_the_site_and_retries_a_server_error() {
        let pages = site();
        let flaky = format!("/{}", pages[4].path);
        let site = Site::start(&pages, &[(&flaky, 503, 1)]);
        let out = scratch("http_flaky").join("kiwify-docs.yaml");

        let report = fetch_spec(&options(&site, &out)).unwrap();

        assert_eq!(site.hits(&flaky), 2, "503 once, then the page");
        assert_eq!(site.hits(&format!("/{}", pages[0].path)), 1);
        assert_eq!(
            site.hits("/guides/webhooks.md"),
            0,
            "pages outside the reference are not read"
        );
        assert_eq!(report.pages, 22);
        let fetched = read_yaml(&out);
        assert_eq!(fetched["paths"], vendor()["paths"]);
        assert_eq!(fetched["components"], vendor()["components"]);
    }

    #[test]
    fn a_page_that_keeps_failing_fails_the_run_naming_it() {
        let pages = site();
        let broken = format!("/{}", pages[7].path);
        let missing = format!("/{}", pages[9].path);
        let site = Site::start(
            &pages,
            &[(&broken, 502, usize::MAX), (&missing, 404, usize::MAX)],
        );
        let out = scratch("http_broken").join("kiwify-docs.yaml");

        let error = format!("{:#}", fetch_spec(&options(&site, &out)).unwrap_err());

        assert!(
            error.contains(&format!("{}{broken}: HTTP 502", site.origin)),
            "{error}"
        );
        assert!(error.contains("gave up after 3 attempts"), "{error}");
        assert!(
            error.contains(&format!("{}{missing}: HTTP 404", site.origin)),
            "{error}"
        );
        assert_eq!(site.hits(&broken), 3, "server errors are retried");
        assert_eq!(site.hits(&missing), 1, "a 404 is not retried");
        assert!(!out.exists());
    }
}
