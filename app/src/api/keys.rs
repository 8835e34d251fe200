//! Admin keys of one API (Auth Tokens the admin issues, as `POST /api/v1/keys` does): listed,
//! issued (the token shown once) and revoked from the API's page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// An admin key, without its token (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    /// The names of the APIs it grants.
    pub apis: Vec<String>,
    /// Certificates the token is bound to, when it is bound.
    pub bound_certificates: Option<usize>,
    pub expires_at: Option<String>,
    pub created_at: String,
    /// What revoking it stops, said before the admin confirms.
    pub revocation: Vec<String>,
}

/// A key just issued, with its token: shown this once, never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKeyView {
    pub key: ApiKeyView,
    pub token: String,
}

/// The admin keys that grant the API, oldest first.
#[server(prefix = "/fn", endpoint = "list_api_keys")]
pub async fn list_api_keys(api: String) -> Result<Vec<ApiKeyView>, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_impact::api_keys(&ssr::services()?, &api).await
}

/// Issues a key granting only this API (binding, limits and expiry: the REST API's `/keys`).
#[server(prefix = "/fn", endpoint = "issue_api_key")]
pub async fn issue_api_key(api: String) -> Result<NewApiKeyView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    ssr::require_script("The key's token")?;
    crate::ssr_impact::issue_key(&ssr::services()?, &admin, &api).await
}

/// Revokes a key of this API; the box must be ticked. A key that does not grant the API is
/// not found here (the page acts on its own API's keys only). Answers what was done.
#[server(prefix = "/fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(api: String, key: String, confirm: Option<String>) -> Result<String, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_portal::require_confirmation(confirm.as_deref())?;
    crate::ssr_impact::revoke_key(&ssr::services()?, &admin, &api, &key).await
}
