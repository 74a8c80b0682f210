//! Where pages come from: the documentation site over HTTPS, or a directory of saved pages.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use super::index;

/// Pages read at once from the site.
const CONCURRENCY: usize = 4;
const TIMEOUT: Duration = Duration::from_secs(30);

/// How often a page is asked for before the run gives up on it.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Requests per page, the first included.
    pub attempts: u32,
    /// Wait before the second request; doubled before each later one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// The wait before request number `attempt` (1-based), or `None` when out of attempts.
    pub fn wait_before(&self, attempt: u32) -> Option<Duration> {
        match attempt {
            0 | 1 => Some(Duration::ZERO),
            _ if attempt > self.attempts => None,
            _ => Some(self.backoff * 2u32.saturating_pow(attempt - 2)),
        }
    }
}

/// Server errors may pass; anything else the server says will be said again.
pub fn is_retryable(status: u16) -> bool {
    (500..600).contains(&status)
}

pub enum Source {
    /// A saved copy of the site: `llms.txt` at the root, each page at its URL's path.
    Directory { root: PathBuf, index: PathBuf },
    Site {
        index: String,
        agent: ureq::Agent,
        retry: RetryPolicy,
    },
}

impl Source {
    /// `from` is a URL (of the index, or of the site root) or a directory (or its `llms.txt`).
    pub fn open(from: &str, retry: RetryPolicy) -> Source {
        if from.starts_with("https://") || from.starts_with("http://") {
            let index = if index::path_of(from) == "/" {
                format!("{}/llms.txt", from.trim_end_matches('/'))
            } else {
                from.to_owned()
            };
            let config = ureq::Agent::config_builder()
                .timeout_global(Some(TIMEOUT))
                .http_status_as_error(false)
                .user_agent(concat!(
                    "kiwify-xtask/",
                    env!("CARGO_PKG_VERSION"),
                    " (fetch-spec)"
                ))
                .build();
            return Source::Site {
                index,
                agent: config.new_agent(),
                retry,
            };
        }

        let path = PathBuf::from(from);
        let (root, index) = if path.is_file() {
            (
                path.parent().map(Path::to_path_buf).unwrap_or_default(),
                path,
            )
        } else {
            (path.clone(), path.join("llms.txt"))
        };
        Source::Directory { root, index }
    }

    /// The URL that page links in the index are relative to. A saved directory stands for the
    /// documentation site, so its pages keep their site URLs in reports and `--prefer`.
    pub fn index_url(&self) -> &str {
        match self {
            Source::Directory { .. } => super::DEFAULT_INDEX,
            Source::Site { index, .. } => index,
        }
    }

    /// Where the index is read from: its URL, or its file in the saved copy.
    pub fn index_location(&self) -> String {
        match self {
            Source::Directory { index, .. } => index.display().to_string(),
            Source::Site { index, .. } => index.clone(),
        }
    }

    pub fn read_index(&self) -> Result<String> {
        match self {
            Source::Directory { index, .. } => std::fs::read_to_string(index)
                .with_context(|| format!("reading the index {}", index.display())),
            Source::Site { index, .. } => self
                .read(index)
                .with_context(|| format!("reading the index {index}")),
        }
    }

    /// Reads every page, a few at a time; fails naming each page that could not be read.
    pub fn read_all(&self, urls: &[String]) -> Result<Vec<String>> {
        let next = AtomicUsize::new(0);
        let workers = CONCURRENCY.min(urls.len());
        let mut results: Vec<(usize, Result<String>)> = thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut read = Vec::new();
                        loop {
                            let position = next.fetch_add(1, Ordering::Relaxed);
                            let Some(url) = urls.get(position) else {
                                break read;
                            };
                            read.push((position, self.read(url)));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().expect("reader panicked"))
                .collect()
        });
        results.sort_by_key(|(position, _)| *position);

        let mut pages = Vec::with_capacity(urls.len());
        let mut failures = String::new();
        for (position, result) in results {
            match result {
                Ok(page) => pages.push(page),
                Err(error) => failures.push_str(&format!("  {}: {error:#}\n", urls[position])),
            }
        }
        ensure!(
            failures.is_empty(),
            "could not read every page:\n{failures}"
        );
        Ok(pages)
    }

    fn read(&self, url: &str) -> Result<String> {
        match self {
            Source::Directory { root, .. } => {
                let file = saved_page(root, url)?;
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading the saved page {}", file.display()))
            }
            Source::Site { agent, retry, .. } => get(agent, url, retry),
        }
    }
}

/// Where a directory keeps the page at `url`: its URL path under the root.
fn saved_page(root: &Path, url: &str) -> Result<PathBuf> {
    let relative = Path::new(index::path_of(url).trim_start_matches('/'));
    let escapes = relative
        .components()
        .any(|part| !matches!(part, Component::Normal(_)));
    ensure!(
        !escapes && !relative.as_os_str().is_empty(),
        "`{url}` has no path to a saved page"
    );
    Ok(root.join(relative))
}

/// A GET with retries on server errors and failed connections.
fn get(agent: &ureq::Agent, url: &str, retry: &RetryPolicy) -> Result<String> {
    let mut attempt = 1;
    loop {
        let failure = match agent.get(url).call() {
            Ok(mut response) if response.status().is_success() => {
                return response
                    .body_mut()
                    .read_to_string()
                    .context("reading the response body");
            }
            Ok(response) if !is_retryable(response.status().as_u16()) => {
                bail!("HTTP {}", response.status());
            }
            Ok(response) => format!("HTTP {}", response.status()),
            Err(error) => error.to_string(),
        };

        attempt += 1;
        let Some(wait) = retry.wait_before(attempt) else {
            bail!("{failure} (gave up after {} attempts)", retry.attempts);
        };
        thread::sleep(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_server_errors_only() {
        assert!(is_retryable(500) && is_retryable(503));
        assert!(!is_retryable(404) && !is_retryable(429) && !is_retryable(200));
    }

    #[test]
    fn backs_off_then_gives_up() {
        let policy = RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(100),
        };
        assert_eq!(policy.wait_before(1), Some(Duration::ZERO));
        assert_eq!(policy.wait_before(2), Some(Duration::from_millis(100)));
        assert_eq!(policy.wait_before(3), Some(Duration::from_millis(200)));
        assert_eq!(policy.wait_before(4), None);
    }

    #[test]
    fn saved_pages_sit_at_their_url_path() {
        let root = Path::new("/saved");
        let page = saved_page(
            root,
            "https://docs.kiwify.com.br/api-reference/sales/list.md",
        );
        assert_eq!(
            page.unwrap(),
            Path::new("/saved/api-reference/sales/list.md")
        );
        assert!(saved_page(root, "https://docs.kiwify.com.br/../etc/passwd").is_err());
        assert!(saved_page(root, "https://docs.kiwify.com.br").is_err());
    }
}
