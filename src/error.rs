//! The crate's one error type.
//!
//! Every failure, whatever layer it comes from (configuration, the token endpoint, the network,
//! an error answer of the API, a response that does not decode), is an [`Error`]. It is not an
//! enum to match on: ask it questions ([`Error::status`], [`Error::is_retryable`],
//! [`Error::retry_after`], [`Error::api_code`] …), so that it can grow without breaking callers.
//! Its `Display` is one line that says what failed and what the API said.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::generated::types::ApiError;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Header the client sets on a response it answers on behalf of the token endpoint.
pub(crate) const ORIGIN_HEADER: &str = "x-kiwify-client-origin";
/// Value of [`ORIGIN_HEADER`] when the token request was refused.
pub(crate) const ORIGIN_TOKEN: &str = "token-endpoint";
/// Value of [`ORIGIN_HEADER`] when the token request got no answer.
pub(crate) const ORIGIN_TOKEN_UNREACHABLE: &str = "token-unreachable";
/// Value of [`ORIGIN_HEADER`] when the operation's deadline passed before the request was sent.
pub(crate) const ORIGIN_DEADLINE: &str = "deadline";
/// Header carrying the [`ErrorKind`] of a failure the client answers for ([`failure_name`]).
pub(crate) const FAILURE_HEADER: &str = "x-kiwify-client-failure";
/// Header the client sets when an error body was not JSON and its text moved into `message`.
pub(crate) const RAW_BODY_HEADER: &str = "x-kiwify-client-raw-body";

/// Longest body text kept in an error.
const BODY_LIMIT: usize = 512;
/// Longest API code or message kept in an error (and so in its one-line `Display`).
const MESSAGE_LIMIT: usize = 300;
/// Keys whose string values are secrets: a body kept in an error shows `[REDACTED]` instead
/// (a webhook's `token` is its signing key, and the webhook operations return it in clear).
const SECRET_KEYS: &[&str] = &["token", "access_token", "refresh_token", "client_secret"];

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Missing or malformed configuration (credentials, base URL).
    Configuration,
    /// The caller's input was refused before any request was sent (a bad date range, say).
    InvalidInput,
    /// The token endpoint refused the credentials, or the API refused the token twice.
    Authentication,
    /// The API answered 429 and retries were exhausted.
    RateLimited,
    /// The API answered with another error status.
    Api,
    /// The request or the whole operation timed out.
    Timeout,
    /// No connection could be made.
    Connect,
    /// The connection failed in another way (reset, broken body).
    Transport,
    /// A response did not decode into its type.
    Decode,
}

/// A failed call to the Kiwify API, or a refused input. See the module docs.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<StatusCode>,
    retry_after: Option<Duration>,
    api_code: Option<String>,
    api_message: Option<String>,
    body: Option<String>,
    decode_path: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                retry_after: None,
                api_code: None,
                api_message: None,
                body: None,
                decode_path: None,
                source: None,
            }),
        }
    }

    pub(crate) fn configuration(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Configuration, message)
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status of the API's answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// Whether the same call may succeed if repeated later: rate limits, 5xx, timeouts and
    /// connection failures. The client has already retried safe requests before returning.
    ///
    /// For an operation that moves money or state (a refund, a payout), a timeout or a 5xx
    /// leaves its outcome unknown: look at the sale or the balance before sending it again.
    /// A timeout whose message says the request was not sent is safe to repeat.
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::RateLimited | ErrorKind::Timeout | ErrorKind::Connect => true,
            ErrorKind::Transport => true,
            ErrorKind::Api => self
                .inner
                .status
                .is_some_and(|status| matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)),
            _ => false,
        }
    }

    /// How long the API asked to wait (`Retry-After`), when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The API's error code (`error` in the body, such as `auth_error`).
    pub fn api_code(&self) -> Option<&str> {
        self.inner.api_code.as_deref()
    }

    /// The API's message (`message`, else `error_description`).
    pub fn api_message(&self) -> Option<&str> {
        self.inner.api_message.as_deref()
    }

    /// The raw response body, truncated, when it was not JSON or did not decode.
    pub fn body(&self) -> Option<&str> {
        self.inner.body.as_deref()
    }

    /// Where in the response a decode failure happened, such as `data[3].net_amount`.
    pub fn decode_path(&self) -> Option<&str> {
        self.inner.decode_path.as_deref()
    }

    /// Whether the credentials or the token were refused.
    pub fn is_authentication(&self) -> bool {
        self.inner.kind == ErrorKind::Authentication
    }

    /// Whether the API answered 404.
    pub fn is_not_found(&self) -> bool {
        self.inner.status == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the request or the whole operation timed out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// Whether no connection could be made.
    pub fn is_connect(&self) -> bool {
        self.inner.kind == ErrorKind::Connect
    }

    /// Whether the API kept answering 429.
    pub fn is_rate_limited(&self) -> bool {
        self.inner.kind == ErrorKind::RateLimited
    }

    /// The token endpoint answered with an error (or unusably): refused credentials on a 4xx,
    /// an outage or a rate limit otherwise.
    pub(crate) fn token_refused(status: StatusCode, body: ApiError) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            ORIGIN_HEADER,
            reqwest::header::HeaderValue::from_static(ORIGIN_TOKEN),
        );
        Error::from_answer(status, &headers, body)
    }

    /// The token request got no answer (`kind` is a timeout, a connection or another transport
    /// failure); `detail` says what the transport reported.
    pub(crate) fn token_unreachable(kind: ErrorKind, detail: &str) -> Self {
        let what = match kind {
            ErrorKind::Timeout => "the token request timed out",
            ErrorKind::Connect => "could not connect to the token endpoint",
            _ => "the token request failed",
        };
        Error::new(kind, format!("{what}: {}", one_line(detail)))
    }

    /// Builds the error for an API answer with an error status.
    fn from_answer(
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: ApiError,
    ) -> Self {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let from_token_endpoint = header(ORIGIN_HEADER) == Some(ORIGIN_TOKEN);
        let raw_body = header(RAW_BODY_HEADER).is_some();
        match header(ORIGIN_HEADER) {
            Some(ORIGIN_DEADLINE) => {
                return Error::new(
                    ErrorKind::Timeout,
                    "the operation's deadline passed before its request was sent (it was not sent)",
                );
            }
            Some(ORIGIN_TOKEN_UNREACHABLE) => {
                let kind = failure_kind(header(FAILURE_HEADER));
                return Error::token_unreachable(kind, body.message.as_deref().unwrap_or(""));
            }
            _ => {}
        }

        let code = body
            .error
            .map(|code| one_line(&code))
            .filter(|code| !code.is_empty());
        let message = body
            .message
            .or(body.error_description)
            .map(|text| one_line(&text))
            .filter(|text| !text.is_empty());
        let auth_rejection = rejects_token(status, || code.clone());
        // The token endpoint refuses credentials with a 4xx; a 5xx or 429 from it is an outage
        // or a rate limit, which says nothing about the credentials and may pass.
        let kind = if status == StatusCode::TOO_MANY_REQUESTS {
            ErrorKind::RateLimited
        } else if auth_rejection || (from_token_endpoint && status.is_client_error()) {
            ErrorKind::Authentication
        } else {
            ErrorKind::Api
        };

        let what = match kind {
            ErrorKind::Authentication if from_token_endpoint => {
                "the token endpoint refused the credentials (check KIWIFY_CLIENT_ID and KIWIFY_CLIENT_SECRET)"
            }
            ErrorKind::Authentication => {
                "the API refused the access token (check KIWIFY_ACCOUNT_ID and the key's scopes)"
            }
            ErrorKind::RateLimited if from_token_endpoint => "rate limited by the token endpoint",
            ErrorKind::RateLimited => "rate limited by the API",
            _ if from_token_endpoint => "the token endpoint answered with an error",
            _ => "the API answered with an error",
        };
        let mut error = Error::new(kind, what);
        error.inner.status = Some(status);
        error.inner.retry_after = header("retry-after")
            .and_then(|value| crate::retry::parse_retry_after(value, std::time::SystemTime::now()));
        if raw_body {
            error.inner.body = message;
        } else {
            error.inner.api_code = code;
            error.inner.api_message = message;
        }
        error
    }
}

impl From<progenitor_client::Error<ApiError>> for Error {
    fn from(error: progenitor_client::Error<ApiError>) -> Self {
        use progenitor_client::Error as Generated;

        match error {
            Generated::ErrorResponse(answer) => {
                let status = answer.status();
                let headers = answer.headers().clone();
                Error::from_answer(status, &headers, answer.into_inner())
            }
            Generated::CommunicationError(error) | Generated::ResponseBodyError(error) => {
                Error::from(error)
            }
            Generated::InvalidUpgrade(error) => Error::from(error),
            Generated::InvalidResponsePayload(bytes, error) => {
                let path = json_path_at(&bytes, error.line(), error.column());
                let mut decoded = Error::new(ErrorKind::Decode, "the response did not decode");
                decoded.inner.body = Some(excerpt(&bytes));
                decoded.inner.decode_path = Some(path);
                decoded.with_source(error)
            }
            Generated::UnexpectedResponse(response) => {
                let status = response.status();
                let mut unexpected = Error::new(
                    ErrorKind::Api,
                    "the API answered with an undocumented status",
                );
                unexpected.inner.status = Some(status);
                unexpected
            }
            Generated::InvalidRequest(message) => Error::invalid_input(message),
            Generated::Custom(message) => Error::new(ErrorKind::Transport, message),
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        let (kind, what) = if error.is_timeout() {
            (ErrorKind::Timeout, "the request timed out")
        } else if error.is_connect() {
            (ErrorKind::Connect, "could not connect to the API")
        } else if error.is_decode() {
            (ErrorKind::Decode, "the response did not decode")
        } else {
            (ErrorKind::Transport, "the connection to the API failed")
        };
        let mut converted = Error::new(kind, what);
        converted.inner.status = error.status();
        converted.with_source(error.without_url())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.write_str(&inner.message)?;
        if let Some(status) = inner.status {
            write!(f, ": HTTP {status}")?;
        }
        match (&inner.api_code, &inner.api_message) {
            (Some(code), Some(message)) => write!(f, ": {code}: {message}")?,
            (Some(text), None) | (None, Some(text)) => write!(f, ": {text}")?,
            (None, None) => {}
        }
        if let Some(path) = &inner.decode_path {
            write!(f, " at `{path}`")?;
        }
        if let Some(source) = &inner.source {
            write!(f, ": {source}")?;
        }
        if let Some(wait) = inner.retry_after {
            write!(f, " (retry after {} s)", wait.as_secs())?;
        }
        if inner.api_message.is_none()
            && inner.decode_path.is_none()
            && let Some(body) = &inner.body
        {
            write!(f, ": {}", body.replace(['\n', '\r'], " "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Error")
            .field("kind", &inner.kind)
            .field("message", &inner.message)
            .field("status", &inner.status)
            .field("api_code", &inner.api_code)
            .field("api_message", &inner.api_message)
            .field("decode_path", &inner.decode_path)
            .field("body", &inner.body)
            .field("source", &inner.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Whether an answer refuses the access token: 401, or 400 with `error: auth_error` (how the
/// API documents it). `code` reads the body's `error`, only when the status needs it.
pub(crate) fn rejects_token(status: StatusCode, code: impl FnOnce() -> Option<String>) -> bool {
    match status {
        StatusCode::UNAUTHORIZED => true,
        StatusCode::BAD_REQUEST => code().as_deref() == Some("auth_error"),
        _ => false,
    }
}

/// The name [`FAILURE_HEADER`] carries for a transport failure of this kind.
pub(crate) fn failure_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Timeout => "timeout",
        ErrorKind::Connect => "connect",
        _ => "transport",
    }
}

fn failure_kind(name: Option<&str>) -> ErrorKind {
    match name {
        Some("timeout") => ErrorKind::Timeout,
        Some("connect") => ErrorKind::Connect,
        _ => ErrorKind::Transport,
    }
}

/// The part of a response body an error keeps: its text, secrets redacted, at most
/// [`BODY_LIMIT`] bytes.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = redact_secrets(String::from_utf8_lossy(bytes).trim());
    truncate(&text, BODY_LIMIT)
}

/// `text` on one line (control characters as spaces), at most [`MESSAGE_LIMIT`] bytes.
fn one_line(text: &str) -> String {
    let line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(&line, MESSAGE_LIMIT)
}

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Replaces the string value of every [`SECRET_KEYS`] key with `[REDACTED]`. Works on text
/// that may not be valid JSON (a body that failed to decode, cut short): it reads the strings
/// in it, escapes included, and redacts a string that follows one of the keys and a colon; an
/// unterminated secret is redacted to the end.
fn redact_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = string_end(rest) else { break };
        let key = &rest[..close];
        out.push_str(&rest[..=close]);
        rest = &rest[close + 1..];

        let value = rest
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|after| after.strip_prefix('"'));
        if let Some(value) = value
            && SECRET_KEYS.contains(&key)
        {
            out.push_str(&rest[..rest.len() - value.len()]);
            out.push_str("[REDACTED]");
            rest = match string_end(value) {
                Some(close) => {
                    out.push('"');
                    &value[close + 1..]
                }
                None => "",
            };
        }
    }
    out.push_str(rest);
    out
}

/// The byte index of the quote that closes a JSON string whose opening quote was just before
/// `text`, skipping escapes.
fn string_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => return Some(index),
            _ => index += 1,
        }
    }
    None
}

/// The JSON path (`data[3].net_amount`) of the value at `line`:`column` (1-based, as serde_json
/// reports them) in `bytes`, found by scanning the text up to that point.
pub(crate) fn json_path_at(bytes: &[u8], line: usize, column: usize) -> String {
    enum Frame {
        Object {
            key: Option<String>,
            expecting_key: bool,
        },
        Array {
            index: usize,
        },
    }

    let offset = offset_of(bytes, line, column);
    let mut frames: Vec<Frame> = Vec::new();
    let mut position = 0;
    while position < offset {
        match bytes[position] {
            b'{' => frames.push(Frame::Object {
                key: None,
                expecting_key: true,
            }),
            b'[' => frames.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { expecting_key, .. }) => *expecting_key = true,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { expecting_key, .. }) = frames.last_mut() {
                    *expecting_key = false;
                }
            }
            b'"' => {
                let start = position + 1;
                position = start;
                while position < bytes.len() && bytes[position] != b'"' {
                    position += if bytes[position] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object {
                    key,
                    expecting_key: true,
                }) = frames.last_mut()
                {
                    let end = position.min(bytes.len());
                    *key = Some(String::from_utf8_lossy(&bytes[start..end]).into_owned());
                }
            }
            _ => {}
        }
        position += 1;
    }

    let mut path = String::new();
    for frame in &frames {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    if path.is_empty() {
        "(root)".to_owned()
    } else {
        path
    }
}

fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut current_line = 1;
    let mut line_start = 0;
    for (index, byte) in bytes.iter().enumerate() {
        if current_line == line {
            break;
        }
        if *byte == b'\n' {
            current_line += 1;
            line_start = index + 1;
        }
    }
    (line_start + column.saturating_sub(1)).min(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of_decode_error<T: serde::de::DeserializeOwned + fmt::Debug>(json: &str) -> String {
        let error = serde_json::from_str::<T>(json).unwrap_err();
        json_path_at(json.as_bytes(), error.line(), error.column())
    }

    #[test]
    fn decode_errors_are_located_by_json_path() {
        use crate::generated::types::SalesPage;
        let json =
            r#"{"pagination":{"count":2},"data":[{"id":"a"},{"id":"b","net_amount":"12x"}]}"#;
        assert_eq!(
            path_of_decode_error::<SalesPage>(json),
            "data[1].net_amount"
        );

        let json = "{\n  \"pagination\": {\"count\": 1},\n  \"data\": [\n    {\"id\": 7}\n  ]\n}";
        assert_eq!(path_of_decode_error::<SalesPage>(json), "data[0].id");
    }

    #[test]
    fn truncated_json_points_at_where_it_stopped() {
        use crate::generated::types::SalesPage;
        let json = r#"{"pagination":{"count":2},"data":[{"id":"a","customer":{"name":"#;
        assert_eq!(
            path_of_decode_error::<SalesPage>(json),
            "data[0].customer.name"
        );
    }

    #[test]
    fn auth_errors_are_classified_and_displayed_on_one_line() {
        let body = ApiError {
            error: Some("auth_error".into()),
            message: Some("Invalid token: access token is invalid".into()),
            error_description: None,
        };
        let error = Error::from_answer(StatusCode::BAD_REQUEST, &Default::default(), body);
        assert!(error.is_authentication());
        assert!(!error.is_retryable());
        let text = error.to_string();
        assert!(
            text.contains("400") && text.contains("Invalid token"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn kept_bodies_never_show_secrets() {
        let body = br#"{"data":[{"id":"w1","token":"s3cr3t-signing-key","url":"https://a/b"},{"access_token": "eyJhbGciOi.x.y", "client_secret":"cs\"q"}],"n":"token"}"#;
        let kept = excerpt(body);
        assert!(
            !kept.contains("s3cr3t") && !kept.contains("eyJhbGciOi") && !kept.contains("cs\\"),
            "{kept}"
        );
        assert_eq!(kept.matches("[REDACTED]").count(), 3, "{kept}");
        assert!(
            kept.contains(r#""url":"https://a/b""#) && kept.contains(r#""n":"token""#),
            "{kept}"
        );

        // A body cut inside the secret still hides what there is of it.
        let cut = excerpt(br#"{"token":"half-of-the-sec"#);
        assert_eq!(cut, r#"{"token":"[REDACTED]"#);
    }

    #[test]
    fn api_messages_are_kept_on_one_short_line() {
        let body = ApiError {
            error: Some("bad\nrequest".into()),
            message: Some(format!("first line\r\nsecond line {}", "x".repeat(1000))),
            error_description: None,
        };
        let error = Error::from_answer(StatusCode::BAD_REQUEST, &Default::default(), body);
        let text = error.to_string();
        assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
        assert!(
            error
                .api_message()
                .unwrap()
                .starts_with("first line  second line")
        );
        assert!(error.api_message().unwrap().len() <= MESSAGE_LIMIT + '…'.len_utf8());
        assert_eq!(error.api_code(), Some("bad request"));
    }

    #[test]
    fn server_errors_are_retryable_and_client_errors_are_not() {
        let answer = |status| Error::from_answer(status, &Default::default(), ApiError::default());
        assert!(answer(StatusCode::SERVICE_UNAVAILABLE).is_retryable());
        assert!(answer(StatusCode::TOO_MANY_REQUESTS).is_rate_limited());
        assert!(!answer(StatusCode::NOT_FOUND).is_retryable());
        assert!(answer(StatusCode::NOT_FOUND).is_not_found());
    }
}
