//! What uses a certificate, and an API's effective allow list with the source of each entry
//! (admin).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::products::Named;
use crate::error::AppError;

/// A Self-Serve subscription holding a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionUse {
    pub id: String,
    pub app: String,
    pub organisation: String,
    pub product: String,
    pub plan: String,
    /// A replaced certificate: when it stops counting.
    pub retire_by: Option<String>,
}

/// A portal credential that works with a certificate now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialUse {
    pub id: String,
    pub app: String,
    pub organisation: String,
    pub product: String,
    pub status: String,
    /// Its token works only with its certificates.
    pub bound: bool,
    pub apis: Vec<String>,
}

/// Everything that uses one certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateUses {
    /// APIs whose own allow list (the admin's entries) holds it.
    pub api_entries: Vec<Named>,
    /// Admin-issued keys bound to it.
    pub keys: Vec<String>,
    pub subscriptions: Vec<SubscriptionUse>,
    pub credentials: Vec<CredentialUse>,
    /// Per API, when it last authenticated there (the gateway's record), latest first.
    pub last_seen: Vec<LastSeenRow>,
}

/// When a certificate last authenticated on one API, and how often in the last 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSeenRow {
    pub api: Named,
    pub at: String,
    pub requests_24h: u64,
}

/// One certificate on an API's effective allow list, with why it is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveEntry {
    pub id: String,
    pub label: String,
    pub fingerprint_short: String,
    /// `ca` or `leaf`.
    pub kind: String,
    pub problem: Option<String>,
    /// "Admin entry on this API", or "Product P → app A → Organisation".
    pub sources: Vec<String>,
}

/// One page of an API's effective allow list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowListPage {
    pub entries: Vec<EffectiveEntry>,
    pub total: usize,
    /// From 1.
    pub page: usize,
    pub pages: usize,
    pub mtls_required: bool,
}

#[server(prefix = "/fn", endpoint = "certificate_usage")]
pub async fn certificate_usage(id: String) -> Result<CertificateUses, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_admin::certificate_usage(&ssr::services()?, &admin, &id).await
}

#[server(prefix = "/fn", endpoint = "api_allow_list")]
pub async fn api_allow_list(id: String, page: Option<usize>) -> Result<AllowListPage, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_admin::effective_allow_list(&ssr::services()?, &admin, &id, page.unwrap_or(1)).await
}
