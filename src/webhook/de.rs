//! Lenient readers for the webhook payload's drifting fields.
//!
//! Kiwify's payload changes type from one delivery to the next (a number in a test delivery, a
//! string in a real one), sends `""` for "no value", and writes dates in four formats. Each
//! reader here takes whatever JSON value arrives and keeps what it can. A value it cannot read
//! becomes `None` rather than an error: a delivery that passed its signature check must not be
//! refused (and retried by Kiwify for ever) because one optional field drifted. The verified raw
//! body stays available to whoever needs the original text.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Brasília time. Brazil has had no daylight saving time since 2019, so the offset is fixed.
pub(crate) const BRASILIA: FixedOffset = match FixedOffset::west_opt(3 * 3600) {
    Some(offset) => offset,
    None => panic!("-03:00 is a valid offset"),
};

/// Any JSON value, reduced to the scalars the readers care about.
enum Scalar<'a> {
    Absent,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(Cow<'a, str>),
    /// An object or an array where a scalar was expected.
    Composite,
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Unsigned(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Signed(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(value))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Composite)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Composite)
    }
}

/// Largest integer an `f64` holds exactly.
const EXACT_FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0;

fn exact_integer(value: f64) -> Option<i64> {
    (value.fract() == 0.0 && value.abs() <= EXACT_FLOAT_LIMIT).then_some(value as i64)
}

/// Text, or a number written as text (ids drift between the two). `""` is absent.
pub(crate) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Text(text) if text.is_empty() => None,
        Scalar::Text(text) => Some(text.into_owned()),
        Scalar::Unsigned(number) => Some(number.to_string()),
        Scalar::Signed(number) => Some(number.to_string()),
        // A float is only an id if it is a whole number it represents exactly; anything larger
        // has already lost digits and is better absent than wrong.
        Scalar::Float(number) => exact_integer(number).map(|number| number.to_string()),
        Scalar::Bool(flag) => Some(flag.to_string()),
        Scalar::Absent | Scalar::Composite => None,
    })
}

/// An integer, sent as a number or as decimal text. Amounts are in cents.
pub(crate) fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Signed(number) => Some(number),
        Scalar::Unsigned(number) => i64::try_from(number).ok(),
        Scalar::Float(number) => exact_integer(number),
        Scalar::Text(text) => text.trim().parse().ok(),
        Scalar::Absent | Scalar::Bool(_) | Scalar::Composite => None,
    })
}

/// A small count (installments, number of charges).
pub(crate) fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Ok(integer(deserializer)?.and_then(|number| u32::try_from(number).ok()))
}

/// A number that may have a fraction (a tax rate).
pub(crate) fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Float(number) => Some(number),
        Scalar::Signed(number) => Some(number as f64),
        Scalar::Unsigned(number) => Some(number as f64),
        Scalar::Text(text) => text
            .trim()
            .parse()
            .ok()
            .filter(|number: &f64| number.is_finite()),
        Scalar::Absent | Scalar::Bool(_) | Scalar::Composite => None,
    })
}

/// A flag, sent as a boolean or as `"true"`/`"false"`.
pub(crate) fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Bool(flag) => Some(flag),
        Scalar::Text(text) => text.trim().parse().ok(),
        _ => None,
    })
}

/// A point in time in any of the payload's formats; see [`parse_timestamp`].
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Text(text) => parse_timestamp(&text),
        _ => None,
    })
}

/// A calendar date, `DD/MM/YYYY` or `YYYY-MM-DD`.
pub(crate) fn date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Text(text) => parse_date(&text),
        _ => None,
    })
}

/// A nested object (`Customer`, `Commissions`, …). Anything but a JSON object (`""`, `null`,
/// an array, a string) reads as `None`, and so does an object that cannot be read as `T`.
///
/// The value is buffered first so that an unreadable one is skipped whole, leaving the rest of
/// the delivery intact; nested objects are a few hundred bytes.
pub(crate) fn object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Value::deserialize(deserializer)? {
        value @ Value::Object(_) => T::deserialize(value).ok(),
        _ => None,
    })
}

/// A list of objects that may be `null`, missing or not a list at all (read as empty); an
/// entry that is not a readable object is left out.
pub(crate) fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(entries) => entries
            .into_iter()
            .filter(Value::is_object)
            .filter_map(|entry| T::deserialize(entry).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// Reads the payload's timestamp formats:
///
/// - RFC 3339 / ISO 8601 with an offset or `Z` (`2026-06-23T03:00:00.000Z`), kept at its offset;
/// - `YYYY-MM-DD HH:MM` and `YYYY-MM-DD HH:MM:SS`, Brasília local time, given offset -03:00;
/// - `DD/MM/YYYY HH:MM`, Brasília local time (`pix_expiration`).
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time);
    }

    const LOCAL_FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y %H:%M:%S",
    ];
    LOCAL_FORMATS.iter().find_map(|format| {
        let local = NaiveDateTime::parse_from_str(text, format).ok()?;
        local.and_local_timezone(BRASILIA).single()
    })
}

/// Reads `DD/MM/YYYY` (boleto expiry) and `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    ["%d/%m/%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brasilia_local_time_is_three_hours_behind_utc() {
        let time = parse_timestamp("2026-06-08 11:53").expect("local format");
        assert_eq!(time.offset().local_minus_utc(), -3 * 3600);
        assert_eq!(time.to_rfc3339(), "2026-06-08T11:53:00-03:00");
        assert_eq!(time.naive_utc().to_string(), "2026-06-08 14:53:00");
    }

    #[test]
    fn iso_timestamps_keep_their_offset() {
        let time = parse_timestamp("2026-06-23T03:00:00.000Z").expect("iso format");
        assert_eq!(time.offset().local_minus_utc(), 0);
        assert_eq!(time.naive_utc().to_string(), "2026-06-23 03:00:00");
    }

    #[test]
    fn pix_expiration_is_day_first_local_time() {
        let time = parse_timestamp("09/06/2026 12:23").expect("day-first format");
        assert_eq!(time.to_rfc3339(), "2026-06-09T12:23:00-03:00");
    }

    #[test]
    fn unknown_formats_are_absent() {
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2026-13-45 99:99"), None);
        assert_eq!(parse_date("31/02/2026"), None);
    }

    #[test]
    fn dates_read_both_orders() {
        let expected = NaiveDate::from_ymd_opt(2026, 6, 11);
        assert_eq!(parse_date("11/06/2026"), expected);
        assert_eq!(parse_date("2026-06-11"), expected);
    }

    #[test]
    fn huge_floats_are_not_taken_as_ids() {
        assert_eq!(exact_integer(12_345_678.0), Some(12_345_678));
        assert_eq!(exact_integer(1.0e20), None);
        assert_eq!(exact_integer(1.5), None);
    }
}
