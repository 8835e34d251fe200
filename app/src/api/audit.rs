//! The audit log: who did what and when (admin).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One entry, with names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub seq: u64,
    pub at: String,
    /// An email, "Admin token", or the name of a background task.
    pub actor: String,
    /// The action's code, e.g. `credential.revoked`.
    pub action: String,
    /// The action in words.
    pub what: String,
    /// What changed: its name where it still exists, else its id.
    pub subject: String,
    pub detail: String,
    pub organisation: Option<String>,
}

/// A choice of a filter: (value, label).
pub type Choice = (String, String);

/// One page of the log, newest first, and the filters' choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub rows: Vec<AuditRow>,
    /// The `before` of the next (older) page, when there is one.
    pub older: Option<u64>,
    pub actors: Vec<Choice>,
    pub organisations: Vec<Choice>,
    pub kinds: Vec<Choice>,
}

/// The kinds of object the log names (an action's first segment).
pub const KINDS: [(&str, &str); 13] = [
    ("certificate", "Certificates (uploads, links, deletions)"),
    ("api", "APIs and their allow lists"),
    ("key", "Admin keys"),
    ("product", "Product changes"),
    ("plan", "Plans"),
    ("access_request", "Access requests (approvals, rejections)"),
    ("credential", "Credentials (tokens, rotations, revocations)"),
    ("subscription", "Subscriptions"),
    ("app", "Apps"),
    ("user", "Users (invites, resets, sign-ins)"),
    ("organisation", "Organisations (suspensions)"),
    ("admin_token", "Admin tokens"),
    ("webhook", "Webhooks"),
];

#[server(prefix = "/fn", endpoint = "audit_log")]
pub async fn audit_log(actor: Option<String>, organisation: Option<String>, kind: Option<String>, before: Option<u64>) -> Result<AuditView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_accounts::audit_view(&ssr::services()?, &admin, crate::ssr_admin::audit_filter(actor, organisation, kind), before).await
}
