//! Typed client for the Kiwify public API.

#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod error;
pub mod generated;
pub mod model;
pub mod paginate;
pub mod rate;
pub mod retry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod webhook;

pub use client::{Client, ClientBuilder, Credentials};
pub use error::{Error, ErrorKind, Result};
pub use paginate::{SalesQuery, SalesRange};

/// The operation traits (`list_sales`, `refund_sale`, …) and [`Client`]: `use kiwify::prelude::*`.
pub mod prelude {
    pub use crate::generated::prelude::*;
    pub use crate::{Client, Credentials};
}

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
