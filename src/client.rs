//! The client users construct (placeholder runtime).

use progenitor_client::{ClientHooks, OperationInfo};

/// Shared runtime state behind every clone of a client.
#[derive(Debug, Default)]
pub struct Runtime {}

impl ClientHooks<std::sync::Arc<Runtime>> for crate::generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        use progenitor_client::ClientInfo;
        self.client().execute(request).await
    }
}
