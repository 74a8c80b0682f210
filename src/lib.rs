//! Typed client for the Kiwify public API.
#![deny(missing_docs)]

pub mod webhook;
