//! Webhooks (placeholder until the webhook module lands).

crate::model::open_enum! {
    /// Portuguese trigger name of a webhook registration.
    Trigger {
        /// compra_aprovada
        CompraAprovada = "compra_aprovada",
    }
}
