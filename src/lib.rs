//! Typed client for the Kiwify public API.

pub mod auth;
pub mod client;
pub mod generated;
pub mod model;
pub mod rate;
pub mod retry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod webhook;
