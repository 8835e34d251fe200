//! Webhooks (admin): endpoints notified of events, their delivery logs, test events.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The events an endpoint can subscribe to, with labels: (event, label). The services' list
/// (`certgate_services::webhooks::EVENTS`) is the same (a test checks it).
pub const EVENT_CHOICES: [(&str, &str); 7] = [
    ("access_request.created", "An access request is made"),
    ("access_request.approved", "An access request is approved"),
    ("access_request.rejected", "An access request is rejected"),
    ("credential.issued", "A credential is issued (admin key, or a portal credential's first token)"),
    ("credential.rotated", "A credential's token is rotated"),
    ("credential.revoked", "A credential is revoked"),
    ("certificate.expiring", "A certificate in use expires within 30 or 7 days"),
];

/// An endpoint as the admin page shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: String,
    /// When it started failing (no success since).
    pub failing_since: Option<String>,
    /// Disabled after 24 hours of failures: when, and why.
    pub disabled: Option<(String, String)>,
}

/// A registered endpoint and its secret, shown this once. Its `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhookView {
    pub webhook: WebhookView,
    pub secret: String,
}

impl std::fmt::Debug for NewWebhookView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhookView").field("webhook", &self.webhook).field("secret", &"…").finish()
    }
}

/// One try of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub at: String,
    pub duration_ms: u64,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// One event sent (or to send) to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The `webhook-id`.
    pub id: String,
    pub event: String,
    /// `pending`, `delivered`, `failed` or `paused`.
    pub state: String,
    pub created: String,
    pub next_attempt: Option<String>,
    pub attempt_count: u32,
    pub attempts: Vec<AttemptView>,
}

/// An endpoint's log: the endpoint and its newest deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLog {
    pub webhook: WebhookView,
    pub deliveries: Vec<DeliveryView>,
}

/// The registration form: the URL and one box per event (`Some` when ticked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookForm {
    pub url: String,
    pub access_request_created: Option<String>,
    pub access_request_approved: Option<String>,
    pub access_request_rejected: Option<String>,
    pub credential_issued: Option<String>,
    pub credential_rotated: Option<String>,
    pub credential_revoked: Option<String>,
    pub certificate_expiring: Option<String>,
}

impl WebhookForm {
    /// The form field of an event's box.
    pub fn field(event: &str) -> String {
        format!("form[{}]", event.replace('.', "_"))
    }

    /// The events ticked.
    pub fn events(&self) -> Vec<String> {
        let ticked = [
            &self.access_request_created,
            &self.access_request_approved,
            &self.access_request_rejected,
            &self.credential_issued,
            &self.credential_rotated,
            &self.credential_revoked,
            &self.certificate_expiring,
        ];
        EVENT_CHOICES.iter().zip(ticked).filter(|(_, t)| t.as_deref().is_some_and(|v| !v.is_empty())).map(|((e, _), _)| e.to_string()).collect()
    }
}

/// Deliveries shown per endpoint.
pub const LOG_LENGTH: usize = 25;

#[server(prefix = "/fn", endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<WebhookView>, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let actor = crate::ssr_portal::admin_actor(&admin);
    let list = ssr::services()?.webhooks.list(&actor).await.map_err(ssr::service_error)?;
    Ok(list.into_iter().map(convert::webhook).collect())
}

/// Registers an endpoint; the answer carries its secret, this once.
#[server(prefix = "/fn", endpoint = "create_webhook")]
pub async fn create_webhook(form: WebhookForm) -> Result<NewWebhookView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    ssr::require_script("The webhook's signing secret")?;
    let actor = crate::ssr_portal::admin_actor(&admin);
    let new = ssr::services()?.webhooks.register(&actor, &form.url, &form.events()).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, webhook = %new.endpoint.id, "webhook registered");
    Ok(NewWebhookView { webhook: convert::webhook(new.endpoint), secret: new.secret })
}

/// Deletes an endpoint and its log; the form's confirmation box must be ticked.
#[server(prefix = "/fn", endpoint = "delete_webhook")]
pub async fn delete_webhook(id: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_portal::require_confirmation(confirm.as_deref())?;
    let actor = crate::ssr_portal::admin_actor(&admin);
    ssr::services()?.webhooks.delete(&actor, &id).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, webhook = %id, "webhook deleted");
    Ok(())
}

/// Re-enables an endpoint disabled after 24 hours of failures.
#[server(prefix = "/fn", endpoint = "enable_webhook")]
pub async fn enable_webhook(id: String) -> Result<WebhookView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let actor = crate::ssr_portal::admin_actor(&admin);
    let now = certgate_services::clock::now_ms();
    let endpoint = ssr::services()?.webhooks.enable(&actor, &id, now).await.map_err(ssr::service_error)?;
    Ok(convert::webhook(endpoint))
}

/// Queues a `webhook.test` event for the endpoint.
#[server(prefix = "/fn", endpoint = "send_test_webhook")]
pub async fn send_test_webhook(id: String) -> Result<DeliveryView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let actor = crate::ssr_portal::admin_actor(&admin);
    let now = certgate_services::clock::now_ms();
    let delivery = ssr::services()?.webhooks.send_test(&actor, &id, now).await.map_err(ssr::service_error)?;
    Ok(convert::delivery(delivery))
}

/// The endpoint and its newest deliveries.
#[server(prefix = "/fn", endpoint = "webhook_deliveries")]
pub async fn webhook_deliveries(id: String) -> Result<DeliveryLog, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let actor = crate::ssr_portal::admin_actor(&admin);
    let webhooks = ssr::services()?.webhooks;
    let endpoint = webhooks.get(&actor, &id).await.map_err(ssr::service_error)?;
    let page = webhooks.deliveries(&actor, &id, None, LOG_LENGTH).await.map_err(ssr::service_error)?;
    Ok(DeliveryLog { webhook: convert::webhook(endpoint), deliveries: page.deliveries.into_iter().map(convert::delivery).collect() })
}

#[cfg(feature = "ssr")]
mod convert {
    use certgate_services::clock::rfc3339;
    use certgate_services::webhooks::{DeliveryRecord, DeliveryState, Endpoint};

    use super::{AttemptView, DeliveryView, WebhookView};

    fn at_ms(ms: i64) -> String {
        rfc3339(ms / 1000)
    }

    pub fn webhook(e: Endpoint) -> WebhookView {
        WebhookView {
            id: e.id,
            url: e.url,
            events: e.events,
            created_at: rfc3339(e.created_at),
            failing_since: e.failing_since_ms.map(at_ms),
            disabled: e.disabled.map(|d| (at_ms(d.at_ms), d.reason)),
        }
    }

    pub fn delivery(d: DeliveryRecord) -> DeliveryView {
        let state = match d.state {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Paused => "paused",
        };
        DeliveryView {
            id: d.id,
            event: d.event,
            state: state.into(),
            created: at_ms(d.created_ms),
            next_attempt: d.next_attempt_ms.map(at_ms),
            attempt_count: d.attempt_count,
            attempts: d
                .attempts
                .into_iter()
                .rev()
                .map(|a| AttemptView { at: at_ms(a.at_ms), duration_ms: a.duration_ms, status: a.status, error: a.error })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_the_ticked_boxes_in_the_known_order() {
        let form = WebhookForm { credential_revoked: Some("on".into()), access_request_created: Some("on".into()), credential_issued: Some(String::new()), ..Default::default() };
        assert_eq!(form.events(), vec!["access_request.created".to_string(), "credential.revoked".to_string()]);
        assert_eq!(WebhookForm::field("credential.revoked"), "form[credential_revoked]");
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let webhook = WebhookView {
            id: "whk_1".into(),
            url: "https://example.com/hook".into(),
            events: vec!["credential.revoked".into()],
            created_at: String::new(),
            failing_since: None,
            disabled: None,
        };
        let new = NewWebhookView { webhook, secret: "whsec_c2VjcmV0LXNpZ25pbmcta2V5".into() };
        let shown = format!("{new:?} {new:#?}");
        assert!(!shown.contains("c2VjcmV0") && shown.contains("whk_1"), "{shown}");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_choices_are_the_services_events() {
        let ours: Vec<&str> = EVENT_CHOICES.iter().map(|(e, _)| *e).collect();
        assert_eq!(ours, certgate_services::webhooks::EVENTS.to_vec());
    }
}
