//! Hand-written types that the generated models use in place of schemas of the spec.
//!
//! The API drifts from its documents in known ways (facts sheet §2, §8): money and counts arrive
//! as numbers or numeric strings, booleans as `true` or `"true"`, scopes as a string or a list,
//! and enumerations grow values nobody documented. These types read every such form, write the
//! canonical one, and keep unknown enumeration values instead of failing the whole response.
//! `build.rs` maps the spec's schemas onto them (its `REPLACEMENTS` table).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An amount of money in integer cents (`12345` is R$ 123,45 when the currency is BRL).
///
/// Read from a JSON integer, an integral float such as `100.0`, or a string of digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

/// An integer that may arrive as a JSON number or as a numeric string (`expires_in`,
/// `installments`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct FlexibleInteger(pub i64);

/// A boolean that may arrive as `true`/`false` or as the strings `"true"`/`"false"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct FlexibleBoolean(pub bool);

macro_rules! integer_like {
    ($name:ident) => {
        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(IntegerVisitor).map(Self)
            }
        }
    };
}

integer_like!(Cents);
integer_like!(FlexibleInteger);

struct IntegerVisitor;

impl Visitor<'_> for IntegerVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string of digits")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::custom(format!("{value} does not fit in an i64")))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        let integral = value.fract() == 0.0 && value.abs() < 9.0e15;
        integral
            .then_some(value as i64)
            .ok_or_else(|| E::custom(format!("{value} is not a whole number")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<i64, E> {
        value
            .trim()
            .parse()
            .map_err(|_| E::custom(format!("{value:?} is not an integer")))
    }
}

impl From<bool> for FlexibleBoolean {
    fn from(value: bool) -> Self {
        Self(value)
    }
}

impl From<FlexibleBoolean> for bool {
    fn from(value: FlexibleBoolean) -> bool {
        value.0
    }
}

impl<'de> Deserialize<'de> for FlexibleBoolean {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BooleanVisitor;

        impl Visitor<'_> for BooleanVisitor {
            type Value = bool;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or \"true\"/\"false\"")
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
                Ok(value)
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
                match value.trim() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    other => Err(E::custom(format!("{other:?} is not a boolean"))),
                }
            }
        }

        deserializer.deserialize_any(BooleanVisitor).map(Self)
    }
}

/// A credential (client secret, access token, webhook token). `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The credential in clear, for the one place that must send or use it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// OAuth scopes. The API sends one space-separated string; some deployments were seen sending a
/// list, and commas as separators. Written back as one space-separated string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(pub Vec<String>);

impl Scopes {
    /// Splits a scope string on spaces and commas.
    pub fn parse(text: &str) -> Self {
        Self(
            text.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|scope| !scope.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Whether the scope `name` was granted.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|scope| scope == name)
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.join(" "))
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            List(Vec<String>),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::Text(text) => Self::parse(&text),
            Form::List(list) => Self(list),
        })
    }
}

/// Defines a string enumeration that keeps values it does not know in `Other`: parsing and
/// deserializing never fail, and an unknown value is written back as it came.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
            /// A value this crate does not know, kept as sent. Parsing never puts a known value
            /// here, so compare values made with `parse` or `From<&str>`.
            Other(String),
        }

        impl $name {
            /// The values this crate knows, as the API spells them.
            pub const NAMES: &'static [&'static str] = &[$( $text, )*];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(text) => text,
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            /// Never fails: an unknown value becomes `Other`.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(match text {
                    $( $text => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                })
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                let Ok(value) = text.parse();
                value
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(text.as_ref()))
            }
        }
    };
}
pub(crate) use open_enum;

open_enum! {
    /// Status of a sale. Card sales may show `approved` where boleto and Pix show `paid`.
    pub enum SaleStatus {
        /// Approved (card sales).
        Approved => "approved",
        /// Authorized, not yet captured.
        Authorized => "authorized",
        /// Charged back by the card holder.
        Chargedback => "chargedback",
        /// Paid.
        Paid => "paid",
        /// Pending.
        Pending => "pending",
        /// Refund pending.
        PendingRefund => "pending_refund",
        /// Being processed.
        Processing => "processing",
        /// Refunded.
        Refunded => "refunded",
        /// Refund requested.
        RefundRequested => "refund_requested",
        /// Refused.
        Refused => "refused",
        /// Waiting for payment (boleto or Pix generated).
        WaitingPayment => "waiting_payment",
    }
}

impl SaleStatus {
    /// Whether the money was received: `paid`, `approved` or `authorized` (facts §4).
    pub fn is_money_received(&self) -> bool {
        matches!(self, Self::Paid | Self::Approved | Self::Authorized)
    }
}

open_enum! {
    /// How a sale was paid.
    pub enum PaymentMethod {
        /// Boleto bancário.
        Boleto => "boleto",
        /// Credit card.
        CreditCard => "credit_card",
        /// Pix.
        Pix => "pix",
    }
}

open_enum! {
    /// Status of an affiliate.
    pub enum AffiliateStatus {
        /// Active.
        Active => "active",
        /// Blocked.
        Blocked => "blocked",
        /// Refused.
        Refused => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_read_numbers_and_digit_strings() {
        let read = |json: &str| serde_json::from_str::<Cents>(json).map(|c| c.0);
        assert_eq!(read("8853").unwrap(), 8853);
        assert_eq!(read("\"8853\"").unwrap(), 8853);
        assert_eq!(read("100.0").unwrap(), 100);
        assert!(read("1.5").is_err());
        assert!(read("\"12a\"").is_err());
        assert!(read("18446744073709551615").is_err());
    }

    #[test]
    fn flexible_boolean_reads_the_string_example() {
        assert!(
            serde_json::from_str::<FlexibleBoolean>("\"true\"")
                .unwrap()
                .0
        );
        assert!(!serde_json::from_str::<FlexibleBoolean>("false").unwrap().0);
        assert!(serde_json::from_str::<FlexibleBoolean>("\"yes\"").is_err());
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let status: SaleStatus = serde_json::from_str("\"in_analysis\"").unwrap();
        assert_eq!(status, SaleStatus::Other("in_analysis".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"in_analysis\"");
        assert_eq!(
            serde_json::from_str::<SaleStatus>("\"paid\"").unwrap(),
            SaleStatus::Paid
        );
    }

    #[test]
    fn scopes_read_strings_lists_and_commas() {
        let read = |json: &str| serde_json::from_str::<Scopes>(json).unwrap().0;
        assert_eq!(read("\"sales stats\""), ["sales", "stats"]);
        assert_eq!(read("\"sales,stats\""), ["sales", "stats"]);
        assert_eq!(read("[\"sales\"]"), ["sales"]);
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"hunter2\"");
    }
}
