//! Query parameters, date windows and the paging envelope.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::generated::types::Pagination;
use crate::sandbox::SandboxError;

use super::{Answer, bad_request, ok};

/// `page_size` cap of sales, affiliates, webhooks and participants (facts §3).
pub(super) const PAGE_CAP: i64 = 100;
const DEFAULT_PAGE_SIZE: i64 = 20;

/// Query-string (or form) parameters; the first value of a key wins, empty values are absent.
pub(super) struct Query(HashMap<String, String>);

impl Query {
    pub(super) fn parse(query: &str) -> Self {
        Self::parse_bytes(query.as_bytes())
    }

    pub(super) fn parse_bytes(bytes: &[u8]) -> Self {
        let mut map = HashMap::new();
        for (key, value) in form_urlencoded::parse(bytes) {
            map.entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self(map)
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    pub(super) fn date(&self, key: &str) -> Result<Option<DateTime<Utc>>, SandboxError> {
        self.get(key)
            .map(|text| {
                parse_date(text).ok_or_else(|| {
                    bad_request(format!(
                        "{key} must be a date (YYYY-MM-DD) or a UTC timestamp (YYYY-MM-DDTHH:MM:SS.sssZ)"
                    ))
                })
            })
            .transpose()
    }

    pub(super) fn boolean(&self, key: &str) -> Result<Option<bool>, SandboxError> {
        self.get(key)
            .map(|text| match text {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(bad_request(format!("{key} must be true or false"))),
            })
            .transpose()
    }

    /// `(page_number, page_size)`, checked against `cap`.
    pub(super) fn page(&self, cap: Option<i64>) -> Result<(i64, i64), SandboxError> {
        let positive = |key: &str, default: i64| match self.get(key) {
            None => Ok(default),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad_request(format!("{key} must be a positive integer"))),
        };
        let number = positive("page_number", 1)?;
        let size = positive("page_size", DEFAULT_PAGE_SIZE)?;
        if let Some(cap) = cap.filter(|cap| size > *cap) {
            return Err(bad_request(format!("page_size must be at most {cap}")));
        }
        Ok((number, size))
    }
}

/// A date-only value is 00:00 UTC; timestamps without an offset are UTC.
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.to_utc());
    }
    const FORMATS: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
        })
        .map(|time| time.and_utc())
}

/// Both ends of a required window, or 400.
pub(super) fn window(query: &Query) -> Result<(DateTime<Utc>, DateTime<Utc>), SandboxError> {
    let start = query.date("start_date")?;
    let end = query.date("end_date")?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(bad_request("start_date and end_date are required"));
    };
    if end < start {
        return Err(bad_request("end_date must not be before start_date"));
    }
    Ok((start, end))
}

pub(super) fn in_window(
    time: Option<DateTime<Utc>>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> bool {
    let Some(time) = time else {
        return start.is_none() && end.is_none();
    };
    start.is_none_or(|start| time >= start) && end.is_none_or(|end| time < end)
}

#[derive(Serialize)]
pub(super) struct Page<T> {
    pub(super) pagination: Pagination,
    pub(super) data: T,
}

/// One page of `items` (all matching items); `count` is their total.
pub(super) fn paginate<T: Serialize>(items: Vec<T>, page: (i64, i64)) -> Answer {
    let (pagination, data) = page_of(items, page);
    ok(&Page { pagination, data })
}

/// Page `number` of `size` of `items` (all matching items), and its `pagination`.
pub(super) fn page_of<T>(items: Vec<T>, (number, size): (i64, i64)) -> (Pagination, Vec<T>) {
    let count = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(number.saturating_sub(1).saturating_mul(size)).unwrap_or(usize::MAX);
    let take = usize::try_from(size).unwrap_or(usize::MAX);
    let data: Vec<T> = items.into_iter().skip(skip).take(take).collect();
    let pagination = Pagination {
        count,
        page_number: Some(number),
        page_size: Some(size),
    };
    (pagination, data)
}

pub(super) fn contains_ignoring_case(haystack: Option<&str>, needle: &str) -> bool {
    haystack.is_some_and(|text| text.to_lowercase().contains(&needle.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn dates_read_every_accepted_form() {
        let at = |text: &str| parse_date(text).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-03-10"), Some("2026-03-10T00:00:00+00:00".into()));
        assert_eq!(
            at("2026-03-10T01:02:03.456Z"),
            Some("2026-03-10T01:02:03.456+00:00".into())
        );
        assert_eq!(
            at("2026-03-10 01:02"),
            Some("2026-03-10T01:02:00+00:00".into())
        );
        assert_eq!(
            at("2026-03-10T01:02:03"),
            Some("2026-03-10T01:02:03+00:00".into())
        );
        assert_eq!(at("10/03/2026"), None);
        assert_eq!(at("2026-13-01"), None);
    }
}
