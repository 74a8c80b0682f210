//! Typed client for the Kiwify public API.

pub mod auth;
pub mod rate;
pub mod retry;
