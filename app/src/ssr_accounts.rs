//! Server-side glue of the organisation page (consumers, roles, account links, suspension) and
//! the audit log page.

use certgate_services::account_links::{LinkKind, INVITE_TTL_SECS, RESET_TTL_SECS};
use certgate_services::accounts::{OrgRole, Role, UserRecord};
use certgate_services::audit::AuditFilter;
use certgate_services::certificates::CertificateFilter;
use certgate_services::clock;
use certgate_services::consumers::{ConsumerChange, NewConsumer};
use certgate_services::sessions::ActiveSession;
use certgate_services::ServiceError;
use http::header::{HeaderValue, CACHE_CONTROL, HOST};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::api::audit::{AuditRow, AuditView, KINDS};
use crate::api::consumers::{AccountLink, ConsumerView, OrganisationDetail};
use crate::api::products::Named;
use crate::error::AppError;
use crate::ssr::{request_auth, service_error, set_status, PortalServices};
use crate::ssr_admin::action_words;
use crate::ssr_portal::admin_actor;

const AUDIT_PAGE: usize = 50;

fn bad(code: &str, message: &str) -> AppError {
    set_status(400);
    AppError::new(code, message)
}

fn role(value: &str) -> Result<OrgRole, AppError> {
    match value.trim() {
        "org_admin" => Ok(OrgRole::OrgAdmin),
        "member" | "" => Ok(OrgRole::Member),
        _ => Err(bad("invalid_role", "The role is organisation admin or member.")),
    }
}

fn yes(value: &str) -> Result<bool, AppError> {
    match value.trim() {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => Err(bad("invalid_request", "Say yes or no.")),
    }
}

pub fn consumer_view(user: &UserRecord) -> ConsumerView {
    ConsumerView {
        id: user.id.clone(),
        email: user.email.clone(),
        role: match user.org_role {
            Some(OrgRole::OrgAdmin) => "org_admin",
            _ => "member",
        }
        .to_string(),
        disabled: user.disabled,
        has_password: user.has_password(),
        created_at: clock::rfc3339(user.created_at),
    }
}

/// A consumer by id (administrators and unknown ids answer 404 alike: not managed here).
async fn consumer(services: &PortalServices, id: &str) -> Result<UserRecord, AppError> {
    match services.accounts.get_user(id).await.map_err(service_error)? {
        Some(user) if user.role == Role::Consumer => Ok(user),
        _ => Err(service_error(ServiceError::NotFound { what: "user" })),
    }
}

pub async fn organisation_detail(services: &PortalServices, admin: &ActiveSession, id: &str) -> Result<OrganisationDetail, AppError> {
    let org = services.organisations.get(id).await.map_err(service_error)?;
    let mut consumers: Vec<ConsumerView> = services
        .accounts
        .list_users()
        .await
        .map_err(service_error)?
        .iter()
        .filter(|u| u.role == Role::Consumer && u.organisation_id.as_deref() == Some(id))
        .map(consumer_view)
        .collect();
    consumers.sort_by(|a, b| a.email.cmp(&b.email));
    let filter = CertificateFilter { organisation: Some(id.to_string()), ..CertificateFilter::default() };
    let certificates = services.certificates.list(filter).await.map_err(service_error)?;
    let apps = services.apps.list_of(&admin_actor(admin), Some(id)).await.map_err(service_error)?;
    Ok(OrganisationDetail {
        id: org.id,
        name: org.name,
        suspended_at: org.suspended_at.map(clock::rfc3339),
        consumers,
        certificates: certificates.iter().map(|c| Named { id: c.record.facts.id.clone(), name: c.label() }).collect(),
        apps: apps.into_iter().map(|a| Named { id: a.id, name: a.name }).collect(),
    })
}

pub async fn add_consumer(services: &PortalServices, admin: &ActiveSession, organisation: &str, email: &str, org_role: &str) -> Result<ConsumerView, AppError> {
    let new = NewConsumer { email, password: None, organisation_id: organisation, org_role: role(org_role)? };
    let user = services.accounts.create_consumer(new, &admin.user.id).await.map_err(service_error)?;
    tracing::info!(admin = %admin.user.id, user = %user.id, "consumer created");
    Ok(consumer_view(&user))
}

/// The link's URL on this portal, the token in its fragment (as the REST API makes it).
fn link_url(page: &str, token: &str) -> String {
    let scheme = if request_auth().secure { "https" } else { "http" };
    let origin = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(HOST).and_then(|h| h.to_str().ok()).map(str::to_string))
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .map(|h| format!("{scheme}://{h}"))
        .unwrap_or_default();
    format!("{origin}{page}#token={token}")
}

pub async fn make_link(services: &PortalServices, admin: &ActiveSession, user_id: &str, kind: &str) -> Result<AccountLink, AppError> {
    let (kind, page, ttl) = match kind {
        "invite" => (LinkKind::Invite, "/invite", INVITE_TTL_SECS),
        "reset" => (LinkKind::Reset, "/reset-password", RESET_TTL_SECS),
        _ => return Err(bad("invalid_kind", "The link is an invite or a password reset.")),
    };
    let user = consumer(services, user_id).await?;
    let token = services.accounts.issue_link(&user.id, kind, &admin.user.id).await.map_err(service_error)?;
    // Shown once: no cache keeps it.
    if let Some(options) = use_context::<ResponseOptions>() {
        options.insert_header(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    tracing::info!(admin = %admin.user.id, user = %user.id, "account link made");
    Ok(AccountLink {
        email: user.email,
        kind: if kind == LinkKind::Invite { "invite" } else { "reset" }.to_string(),
        url: link_url(page, &token),
        expires_at: clock::rfc3339(clock::now() + ttl),
    })
}

pub async fn set_disabled(services: &PortalServices, admin: &ActiveSession, user_id: &str, disabled: &str) -> Result<ConsumerView, AppError> {
    let disabled = yes(disabled)?;
    let user = consumer(services, user_id).await?;
    let change = ConsumerChange { disabled: Some(disabled), ..ConsumerChange::default() };
    let user = services.accounts.update_consumer(&user.id, change, &admin.user.id).await.map_err(service_error)?;
    if user.disabled {
        let ended = services.sessions.end_all_for_user_except(&user.id, None).await.map_err(service_error)?;
        tracing::info!(admin = %admin.user.id, user = %user.id, ended, "consumer disabled");
    }
    Ok(consumer_view(&user))
}

pub async fn set_role(services: &PortalServices, admin: &ActiveSession, user_id: &str, org_role: &str) -> Result<ConsumerView, AppError> {
    let org_role = role(org_role)?;
    let user = consumer(services, user_id).await?;
    let change = ConsumerChange { org_role: Some(org_role), ..ConsumerChange::default() };
    let user = services.accounts.update_consumer(&user.id, change, &admin.user.id).await.map_err(service_error)?;
    Ok(consumer_view(&user))
}

pub async fn set_suspended(services: &PortalServices, admin: &ActiveSession, id: &str, suspended: &str) -> Result<(), AppError> {
    let suspended = yes(suspended)?;
    let org = services.organisations.set_suspended(id, suspended, &admin.user.id).await.map_err(service_error)?;
    tracing::info!(admin = %admin.user.id, organisation = %org.id, suspended, "organisation suspension changed");
    Ok(())
}

/// Who an audit entry names as its actor, in words.
fn actor_name(actor: &str, emails: &std::collections::HashMap<String, String>) -> String {
    match actor {
        "admin-token" => "Admin token".into(),
        "cli" => "Command line (certgate admin)".into(),
        "sign-up" => "Self sign-up".into(),
        "retire-by" => "Scheduled retirement".into(),
        other => emails.get(other).cloned().unwrap_or_else(|| other.to_string()),
    }
}

pub async fn audit_view(services: &PortalServices, admin: &ActiveSession, filter: AuditFilter, before: Option<u64>) -> Result<AuditView, AppError> {
    let page = services.audit.page(&admin_actor(admin), filter, before, AUDIT_PAGE).await.map_err(service_error)?;
    let mut users = services.accounts.list_users().await.map_err(service_error)?;
    users.sort_by(|a, b| a.email.cmp(&b.email));
    let emails = users.iter().map(|u| (u.id.clone(), u.email.clone())).collect();
    let organisations = services.organisations.list().await.map_err(service_error)?;
    let org_names: std::collections::HashMap<&str, &str> = organisations.iter().map(|o| (o.id.as_str(), o.name.as_str())).collect();
    // Ids the log's subjects and details hold, said as names where they still exist.
    let mut names: Vec<(String, String)> = organisations.iter().map(|o| (o.id.clone(), o.name.clone())).collect();
    names.extend(services.products.list().await.map_err(service_error)?.into_iter().map(|p| (p.id, p.spec.name)));
    names.extend(services.plans.list().await.map_err(service_error)?.into_iter().map(|p| (p.id, p.spec.name)));
    names.extend(services.apis.list().await.map_err(service_error)?.into_iter().map(|a| (a.id, a.spec.name)));
    names.extend(users.iter().map(|u| (u.id.clone(), u.email.clone())));
    let named = |text: &str| names.iter().fold(text.to_string(), |t, (id, name)| if t.contains(id.as_str()) { t.replace(id.as_str(), name) } else { t });
    let older = if page.more { page.entries.last().map(|(seq, _)| *seq) } else { None };
    let rows = page
        .entries
        .into_iter()
        .map(|(seq, e)| AuditRow {
            seq,
            at: clock::rfc3339(e.at),
            actor: actor_name(&e.actor, &emails),
            what: action_words(&e.action),
            action: e.action,
            subject: named(&e.subject),
            detail: named(&e.detail),
            organisation: e.organisation.map(|o| org_names.get(o.as_str()).map(|n| n.to_string()).unwrap_or(o)),
        })
        .collect();
    let mut actors: Vec<(String, String)> = vec![("admin-token".into(), "Admin token".into()), ("cli".into(), "Command line (certgate admin)".into())];
    actors.extend(users.iter().map(|u| (u.id.clone(), u.email.clone())));
    Ok(AuditView {
        rows,
        older,
        actors,
        organisations: organisations.iter().map(|o| (o.id.clone(), o.name.clone())).collect(),
        kinds: KINDS.iter().map(|(k, l)| (k.to_string(), l.to_string())).collect(),
    })
}
