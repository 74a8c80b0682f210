//! Typed client for the Kiwify public API.

pub mod client;
pub mod generated;
pub mod model;
pub mod webhook;
