//! Access requests: what a consumer asks for, and the only state changes a request can make.
//! Approval of a request is what creates or changes a subscription; the services apply it.

use serde::{Deserialize, Serialize};

use crate::UnixSeconds;

const MAX_REASON_CHARS: usize = 1_000;

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestKind {
    /// Access to a product with a plan for an app; Self-Serve requests carry the certificate
    /// (its id: the certificate itself is kept with the request until approval).
    Subscribe {
        product: String,
        plan: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate: Option<String>,
    },
    /// Another plan for a live subscription.
    ChangePlan { subscription: String, plan: String },
    /// A replacement certificate for a Self-Serve subscription.
    Renew { subscription: String, certificate: String },
}

/// Where a request is. Only `Pending` moves, and only once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Approved { at: UnixSeconds, by: String },
    Rejected { at: UnixSeconds, by: String, reason: String },
    Withdrawn { at: UnixSeconds },
}

impl RequestState {
    pub fn name(&self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved { .. } => "approved",
            RequestState::Rejected { .. } => "rejected",
            RequestState::Withdrawn { .. } => "withdrawn",
        }
    }

    pub fn is_pending(&self) -> bool {
        matches!(self, RequestState::Pending)
    }
}

/// A refused state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError {
    pub code: &'static str,
    pub message: String,
}

fn not_pending(state: &RequestState) -> TransitionError {
    TransitionError {
        code: "request_not_pending",
        message: format!("The request is {} already: only a pending request can change.", state.name()),
    }
}

/// The state after an approval by `by` at `now`.
pub fn approve(state: &RequestState, by: &str, now: UnixSeconds) -> Result<RequestState, TransitionError> {
    match state {
        RequestState::Pending => Ok(RequestState::Approved { at: now, by: by.to_string() }),
        other => Err(not_pending(other)),
    }
}

/// The state after a rejection; the reason is shown to the consumer.
pub fn reject(state: &RequestState, by: &str, reason: &str, now: UnixSeconds) -> Result<RequestState, TransitionError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(TransitionError {
            code: "invalid_reason",
            message: format!("Give the consumer a reason of 1 to {MAX_REASON_CHARS} characters."),
        });
    }
    match state {
        RequestState::Pending => Ok(RequestState::Rejected { at: now, by: by.to_string(), reason: reason.to_string() }),
        other => Err(not_pending(other)),
    }
}

/// The state after the consumer withdraws the request.
pub fn withdraw(state: &RequestState, now: UnixSeconds) -> Result<RequestState, TransitionError> {
    match state {
        RequestState::Pending => Ok(RequestState::Withdrawn { at: now }),
        other => Err(not_pending(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_request_moves_and_only_once() {
        let approved = approve(&RequestState::Pending, "admin", 10).unwrap();
        assert_eq!(approved, RequestState::Approved { at: 10, by: "admin".into() });
        assert_eq!(approve(&approved, "admin", 11).unwrap_err().code, "request_not_pending");
        assert_eq!(withdraw(&approved, 11).unwrap_err().code, "request_not_pending");
        let rejected = reject(&RequestState::Pending, "admin", " no certificate on file ", 12).unwrap();
        assert_eq!(rejected, RequestState::Rejected { at: 12, by: "admin".into(), reason: "no certificate on file".into() });
        assert_eq!(approve(&rejected, "admin", 13).unwrap_err().code, "request_not_pending");
        assert_eq!(reject(&RequestState::Pending, "admin", "  ", 12).unwrap_err().code, "invalid_reason");
        let withdrawn = withdraw(&RequestState::Pending, 14).unwrap();
        assert_eq!(withdrawn.name(), "withdrawn");
        assert_eq!(reject(&withdrawn, "admin", "late", 15).unwrap_err().code, "request_not_pending");
    }

    #[test]
    fn kinds_and_states_have_stable_wire_shapes() {
        let kind = RequestKind::Subscribe { product: "prd_1".into(), plan: "pln_1".into(), certificate: None };
        assert_eq!(serde_json::to_value(&kind).unwrap(), serde_json::json!({"kind": "subscribe", "product": "prd_1", "plan": "pln_1"}));
        let state = RequestState::Rejected { at: 1, by: "a".into(), reason: "r".into() };
        assert_eq!(serde_json::to_value(&state).unwrap()["state"], "rejected");
    }
}
