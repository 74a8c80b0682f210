//! Maintenance tasks for the `kiwify` crate, run as `cargo xtask <task>`.
//!
//! `fetch-spec` rebuilds the vendored OpenAPI document from the documentation site.

pub mod fetch_spec;
