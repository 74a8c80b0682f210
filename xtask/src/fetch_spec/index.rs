//! Reading `llms.txt`, the site's Markdown list of pages, down to the API reference pages.

/// What the index lists, sorted by what `fetch-spec` does with it.
#[derive(Debug, Default, PartialEq)]
pub struct Index {
    /// `.md` URLs of the `/api-reference/` pages, in index order, without duplicates.
    pub reference_pages: Vec<String>,
    /// `/api-reference/` links that are not pages (an `openapi.json`, an image).
    pub other_files: Vec<String>,
    /// `/api-reference/` pages left out by `--skip`.
    pub skipped: Vec<String>,
    /// Links outside the API reference (guides, the changelog).
    pub outside_reference: usize,
}

/// Sorts the links of `index`, resolving relative ones against `index_url`.
pub fn read(index: &str, index_url: &str, skip: &[String]) -> Index {
    let mut result = Index::default();
    for link in links(index) {
        let url = resolve(link, index_url);
        let url = url.split(['#', '?']).next().unwrap_or_default();
        if !path_of(url).contains("/api-reference/") {
            result.outside_reference += 1;
            continue;
        }

        let Some(page) = markdown_url(url) else {
            result.other_files.push(url.to_owned());
            continue;
        };
        if skip.iter().any(|prefix| page.starts_with(prefix.as_str())) {
            result.skipped.push(page);
        } else if !result.reference_pages.contains(&page) {
            result.reference_pages.push(page);
        }
    }
    result
}

/// Targets of the Markdown links `[text](target)`, in order.
fn links(markdown: &str) -> impl Iterator<Item = &str> {
    markdown.split("](").skip(1).filter_map(|rest| {
        let target = &rest[..rest.find(')')?];
        let target = target.split_whitespace().next()?; // drop a `"title"`
        Some(target.trim_start_matches('<').trim_end_matches('>'))
    })
}

/// The `.md` form of a page URL; `None` for a file with another extension.
fn markdown_url(url: &str) -> Option<String> {
    let url = url.trim_end_matches('/');
    let last_segment = url.rsplit('/').next().unwrap_or_default();
    match last_segment.rsplit_once('.') {
        None => Some(format!("{url}.md")),
        Some((_, "md")) => Some(url.to_owned()),
        Some((stem, "mdx")) if !stem.is_empty() => Some(format!("{}.md", &url[..url.len() - 4])),
        Some(_) => None,
    }
}

/// `link` made absolute: `https://…` as is, `/x` against the origin of `base`, `x` beside `base`.
pub fn resolve(link: &str, base: &str) -> String {
    if link.contains("://") {
        return link.to_owned();
    }
    let (origin, path) = split(base);
    if link.starts_with('/') {
        return format!("{origin}{link}");
    }
    let directory = &path[..path.rfind('/').map_or(0, |slash| slash + 1)];
    let directory = if directory.is_empty() { "/" } else { directory };
    format!("{origin}{directory}{link}")
}

/// The path of an absolute URL, from its first `/` after the host; `/` if it has none.
pub fn path_of(url: &str) -> &str {
    let path = split(url).1;
    if path.is_empty() { "/" } else { path }
}

/// `https://host:port` and the rest, `/path?query`.
fn split(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let path_start = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |at| after_scheme + at);
    url.split_at(path_start)
}

/// The host of an absolute URL, without port or credentials.
pub fn host_of(url: &str) -> &str {
    let (origin, _) = split(url);
    let authority = origin
        .split_once("://")
        .map_or(origin, |(_, authority)| authority);
    let host = authority.rsplit('@').next().unwrap_or_default();
    host.split(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX_URL: &str = "https://docs.kiwify.com.br/llms.txt";

    #[test]
    fn keeps_reference_pages_in_order_as_markdown_urls() {
        let index = "# Kiwify\n\n## Docs\n\n\
            - [Token](https://docs.kiwify.com.br/api-reference/auth/oauth.md): Gerar token\n\
            - [Intro](https://docs.kiwify.com.br/introduction.md): Bem-vindo\n\
            - [Vendas](/api-reference/sales/list): relative, no extension\n\
            - [Spec](https://docs.kiwify.com.br/api-reference/openapi.json)\n\
            - [Again](https://docs.kiwify.com.br/api-reference/auth/oauth.md#top)\n\
            - [Old](https://docs.kiwify.com.br/api-reference/old/page.mdx)\n";
        let skip = vec!["https://docs.kiwify.com.br/api-reference/old/".to_owned()];

        assert_eq!(
            read(index, INDEX_URL, &skip),
            Index {
                reference_pages: vec![
                    "https://docs.kiwify.com.br/api-reference/auth/oauth.md".to_owned(),
                    "https://docs.kiwify.com.br/api-reference/sales/list.md".to_owned(),
                ],
                other_files: vec![
                    "https://docs.kiwify.com.br/api-reference/openapi.json".to_owned()
                ],
                skipped: vec!["https://docs.kiwify.com.br/api-reference/old/page.md".to_owned()],
                outside_reference: 1,
            }
        );
    }

    #[test]
    fn resolves_links_against_the_index() {
        assert_eq!(
            resolve("/a/b.md", "http://127.0.0.1:8080/llms.txt"),
            "http://127.0.0.1:8080/a/b.md"
        );
        assert_eq!(
            resolve("b.md", "https://h/docs/llms.txt"),
            "https://h/docs/b.md"
        );
        assert_eq!(resolve("b.md", "https://h"), "https://h/b.md");
        assert_eq!(resolve("https://x/y", "https://h/llms.txt"), "https://x/y");
    }

    #[test]
    fn finds_host_and_path() {
        assert_eq!(
            host_of("https://public-api.kiwify.com/v1/"),
            "public-api.kiwify.com"
        );
        assert_eq!(
            host_of("https://user@conta-public-api.kiwify.com:443"),
            "conta-public-api.kiwify.com"
        );
        assert_eq!(path_of("https://h:1/a/b.md"), "/a/b.md");
        assert_eq!(path_of("https://h"), "/");
    }
}
