//! Typed client for the Kiwify public API.
