//! Access requests: what consumers ask for, approved or rejected by the admin.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::products::Named;
use crate::error::AppError;

/// The states, in the order of the tabs.
pub const STATES: [&str; 4] = ["pending", "approved", "rejected", "withdrawn"];

/// An access request as the admin screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: String,
    pub app: Named,
    pub organisation: Named,
    /// The product asked for (for a plan change or a renewal: the subscription's).
    pub product: Option<Named>,
    /// The plan asked for (a renewal keeps the subscription's plan).
    pub plan: Option<Named>,
    /// `subscribe`, `change_plan` or `renew`.
    pub kind: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub state: String,
    pub reason: Option<String>,
    /// Who decided and when, for decided requests.
    pub decided: Option<String>,
    pub requested_at: String,
}

/// One tab of the request list, with the count of every tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestList {
    /// `(state, count)` in the order of [`STATES`].
    pub counts: Vec<(String, usize)>,
    pub items: Vec<RequestView>,
    /// The cursor of the next (older) page, when there is one.
    pub older: Option<String>,
}

/// A certificate submitted with a Self-Serve request, as parsed now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedCertificate {
    pub id: String,
    pub fingerprint_sha256: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// `valid`, `expired` or `not_yet_valid`.
    pub validity: String,
    pub key_algorithm: String,
    pub usable_now: bool,
    /// Why it cannot authenticate a client now, in plain words.
    pub problem: Option<String>,
}

/// A request with what the admin needs to decide it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetail {
    pub request: RequestView,
    /// `managed`, `self_serve`, or `None` (the modes do not apply).
    pub certificate_mode: Option<String>,
    pub certificate_binding: bool,
    pub certificate: Option<SubmittedCertificate>,
    /// Managed: how many of the organisation's certificates the credential would take.
    pub organisation_certificates: Option<usize>,
}

/// How a request's kind reads.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "change_plan" => "Change plan",
        "renew" => "Certificate renewal",
        _ => "Subscribe",
    }
}

/// How a state reads on its tab.
pub fn state_label(state: &str) -> &'static str {
    match state {
        "approved" => "Approved",
        "rejected" => "Rejected",
        "withdrawn" => "Withdrawn",
        _ => "Pending",
    }
}

/// The words a row's buttons are named by: "request of app X for product Y".
pub fn request_words(r: &RequestView) -> String {
    let product = r.product.as_ref().map(|p| p.name.as_str()).unwrap_or("an unknown product");
    format!("request of app {} for product {}", r.app.name, product)
}

#[server(prefix = "/fn", endpoint = "list_access_requests")]
pub async fn list_access_requests(state: Option<String>, after: Option<String>) -> Result<RequestList, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let state = state.filter(|s| !s.is_empty()).unwrap_or_else(|| "pending".into());
    if !STATES.contains(&state.as_str()) {
        ssr::set_status(400);
        return Err(AppError::new("invalid_state", "The state is pending, approved, rejected or withdrawn."));
    }
    crate::ssr_portal::request_list(&ssr::services()?, &admin, &state, after.filter(|a| !a.is_empty())).await
}

#[server(prefix = "/fn", endpoint = "get_access_request")]
pub async fn get_access_request(id: String) -> Result<RequestDetail, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_portal::request_detail(&ssr::services()?, &admin, &id).await
}

#[server(prefix = "/fn", endpoint = "approve_access_request")]
pub async fn approve_access_request(id: String) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let actor = crate::ssr_portal::admin_actor(&admin);
    ssr::services()?.access_requests.approve(&actor, &id).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, request = %id, "access request approved");
    Ok(())
}

/// Rejects with a reason the consumer sees (required).
#[server(prefix = "/fn", endpoint = "reject_access_request")]
pub async fn reject_access_request(id: String, reason: String) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    if reason.trim().is_empty() {
        ssr::set_status(400);
        return Err(AppError::new("invalid_reason", "Write the reason the consumer will read."));
    }
    let actor = crate::ssr_portal::admin_actor(&admin);
    ssr::services()?.access_requests.reject(&actor, &id, &reason).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, request = %id, "access request rejected");
    Ok(())
}
