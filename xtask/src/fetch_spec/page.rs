//! Finding the OpenAPI fragment in a reference page.
//!
//! A page embeds its fragment in a fence whose info string names the operation, as in
//! ```` ````yaml post /oauth/token ````, and closes it with a fence of the same backticks.

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Map, Value};

use super::index;
use crate::openapi::is_method;
use crate::yaml;

/// The API a fragment documents, from its `servers` URL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Api {
    Public,
    /// The banking API ("Conta Digital") on `conta-public-api.kiwify.com`, out of scope.
    Banking,
}

/// One fragment, parsed and checked.
#[derive(Debug)]
pub struct Fragment {
    /// The operation the fence names, e.g. `post /oauth/token`.
    pub operation: String,
    pub document: Map<String, Value>,
    pub api: Api,
}

/// The fragments of a page; an error if it has none or one is malformed.
pub fn fragments(markdown: &str) -> Result<Vec<Fragment>> {
    let fenced = fenced_fragments(markdown)?;
    ensure!(
        !fenced.is_empty(),
        "no OpenAPI fragment (no ````yaml <method> <path> fence)"
    );

    fenced
        .into_iter()
        .map(|(method, path, text)| {
            let operation = format!("{method} {path}");
            parse(&method, &path, &text)
                .map(|(document, api)| Fragment {
                    operation: operation.clone(),
                    document,
                    api,
                })
                .with_context(|| format!("in the fragment `{operation}`"))
        })
        .collect()
}

/// `(method, path, yaml)` of each fragment fence; other fenced blocks are stepped over.
fn fenced_fragments(markdown: &str) -> Result<Vec<(String, String, String)>> {
    let mut found = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some((fence, info)) = opening_fence(line) else {
            continue;
        };

        let mut body = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            if is_closing_fence(line, fence) {
                closed = true;
                break;
            }
            body.push_str(line);
            body.push('\n');
        }

        let Some((method, path)) = operation_of(info) else {
            continue;
        };
        ensure!(
            closed,
            "the fragment fence `{method} {path}` is never closed"
        );
        found.push((method, path, body));
    }
    Ok(found)
}

/// The fence (its run of backticks or tildes) and the info string of an opening fence line.
fn opening_fence(line: &str) -> Option<(&str, &str)> {
    let marker = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = line.len() - line.trim_start_matches(marker).len();
    (length >= 3).then(|| line.split_at(length))
}

fn is_closing_fence(line: &str, fence: &str) -> bool {
    let marker = &fence[..1];
    let line = line.trim_end();
    line.len() >= fence.len() && line.trim_start_matches(marker).is_empty()
}

/// `yaml post /oauth/token` gives `("post", "/oauth/token")`. A site that serves several
/// OpenAPI files may name the file first (`yaml openapi.json post /oauth/token`).
fn operation_of(info: &str) -> Option<(String, String)> {
    let words: Vec<&str> = info.split_whitespace().collect();
    let ["yaml", .., method, path] = words.as_slice() else {
        return None;
    };
    let method = method.to_ascii_lowercase();
    let is_fragment = words.len() <= 4 && is_method(&method) && path.starts_with('/');
    is_fragment.then(|| (method, path.to_string()))
}

fn parse(method: &str, path: &str, text: &str) -> Result<(Map<String, Value>, Api)> {
    let Value::Object(document) = yaml::parse(text)? else {
        bail!("the fragment is not a YAML mapping");
    };

    let announced = document
        .get("paths")
        .and_then(|paths| paths.get(path)?.get(method));
    ensure!(
        announced.is_some(),
        "its `paths` lack the `{method} {path}` the fence announces"
    );

    let api = api_of(&document)?;
    Ok((document, api))
}

/// Which API the fragment's `servers` point at; an error for any host but Kiwify's two APIs.
fn api_of(document: &Map<String, Value>) -> Result<Api> {
    let urls: Vec<&str> = document
        .get("servers")
        .and_then(Value::as_array)
        .map(|servers| {
            servers
                .iter()
                .filter_map(|server| server.get("url")?.as_str())
                .collect()
        })
        .unwrap_or_default();
    ensure!(
        !urls.is_empty(),
        "it has no `servers` url, so the API it documents is unknown"
    );

    let hosts: Vec<&str> = urls.iter().map(|url| index::host_of(url)).collect();
    if hosts.iter().all(|host| *host == super::API_HOST) {
        Ok(Api::Public)
    } else if hosts.iter().all(|host| *host == super::BANKING_HOST) {
        Ok(Api::Banking)
    } else {
        bail!(
            "its `servers` point at {urls:?}, not at {}",
            super::API_HOST
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(fence_info: &str, yaml: &str) -> String {
        format!(
            "# Title\n\n```bash\n````yaml get /not/this\n```\n\n## OpenAPI\n\n````{fence_info}\n{yaml}````\n"
        )
    }

    const FRAGMENT: &str = "openapi: 3.1.0\nservers:\n  - url: https://public-api.kiwify.com/v1/\n\
        paths:\n  /sales:\n    get:\n      summary: s\n";

    #[test]
    fn reads_the_fenced_fragment_and_steps_over_other_fences() {
        let fragments = fragments(&page("yaml get /sales", FRAGMENT)).unwrap();

        assert_eq!(fragments.len(), 1);
        assert_eq!(fragments[0].operation, "get /sales");
        assert_eq!(fragments[0].api, Api::Public);
        assert_eq!(
            fragments[0].document["paths"]["/sales"]["get"]["summary"],
            "s"
        );
    }

    #[test]
    fn recognizes_fragment_fences_only() {
        let operation = |info| operation_of(info).map(|(m, p)| format!("{m} {p}"));
        assert_eq!(
            operation("yaml post /oauth/token").as_deref(),
            Some("post /oauth/token")
        );
        assert_eq!(operation("yaml GET /sales").as_deref(), Some("get /sales"));
        assert_eq!(
            operation("yaml conta.json get /saldo").as_deref(),
            Some("get /saldo")
        );
        assert_eq!(operation("yaml"), None);
        assert_eq!(operation("json get /sales"), None);
        assert_eq!(operation("yaml webhook compra_aprovada"), None);
        assert_eq!(operation("yaml get sales"), None);
        assert_eq!(operation("yaml a b get /sales"), None);
    }

    #[test]
    fn a_page_without_a_fragment_is_an_error() {
        let error = fragments("# Intro\n\n```yaml\na: 1\n```\n").unwrap_err();
        assert!(
            format!("{error:#}").contains("no OpenAPI fragment"),
            "{error:#}"
        );
    }

    #[test]
    fn an_unclosed_fence_is_an_error() {
        let error = fragments("````yaml get /sales\nopenapi: 3.1.0\n```\n").unwrap_err();
        assert!(format!("{error:#}").contains("never closed"), "{error:#}");
    }

    #[test]
    fn the_fence_must_name_an_operation_of_the_fragment() {
        let error = fragments(&page("yaml post /sales", FRAGMENT)).unwrap_err();
        assert!(
            format!("{error:#}").contains("lack the `post /sales`"),
            "{error:#}"
        );
    }

    #[test]
    fn classifies_the_api_by_server_host() {
        let banking = FRAGMENT.replace("public-api", "conta-public-api");
        let fragments = fragments(&page("yaml get /sales", &banking)).unwrap();
        assert_eq!(fragments[0].api, Api::Banking);

        let elsewhere = FRAGMENT.replace("public-api.kiwify.com", "api.example.com");
        let error = super::fragments(&page("yaml get /sales", &elsewhere)).unwrap_err();
        assert!(
            format!("{error:#}").contains("api.example.com"),
            "{error:#}"
        );

        let serverless =
            FRAGMENT.replace("servers:\n  - url: https://public-api.kiwify.com/v1/\n", "");
        let error = super::fragments(&page("yaml get /sales", &serverless)).unwrap_err();
        assert!(format!("{error:#}").contains("no `servers`"), "{error:#}");
    }
}
