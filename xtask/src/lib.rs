//! Maintenance tasks for the `kiwify` crate, run as `cargo xtask <task>`; a library so that
//! their logic is testable.
//!
//! - `regen` normalizes the vendor document with the corrections into `openapi/kiwify.yaml` and
//!   refreshes the snapshots of the generated surface (`regen`, `normalize`, `overlay`, `drift`,
//!   `upstream`).
//! - `fetch-spec` rebuilds the vendored document from the documentation site (`fetch_spec`).
//!
//! Both share `yaml` (reading and writing), `pointer` (RFC 6901 JSON pointers) and `openapi`
//! (operation keys, the `$ref` walk).

pub mod drift;
pub mod fetch_spec;
pub mod normalize;
pub mod openapi;
pub mod overlay;
pub mod pointer;
pub mod regen;
pub mod upstream;
pub mod yaml;
