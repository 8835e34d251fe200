//! Server side of the developer portal's functions: who the consumer is (from the session
//! only), and the views built field by field from the services' records (no token, no digest,
//! no upstream, no other organisation's data can reach a view).

use std::collections::HashMap;
use std::net::SocketAddr;

use certgate_core::gateway::spec::{AuthKind, QuotaPeriod};
use certgate_core::pki;
use certgate_core::portal::derive::fits_credential;
use certgate_core::portal::product::CertificateMode;
use certgate_core::portal::request::{RequestKind, RequestState};
use certgate_core::UnixSeconds;
use certgate_services::accounts::{OrgRole, Role};
use certgate_services::certificates::{CertificateEntry, CertificateFilter};
use certgate_services::clock;
use certgate_services::plans::PlanRecord;
use certgate_services::portal::apps::AppRecord;
use certgate_services::portal::catalogue::{CatalogueApi, CatalogueProduct};
use certgate_services::portal::requests::{AccessRequestRecord, NewRequest};
use certgate_services::portal::Actor;
use certgate_services::ServiceError;

use super::{
    NewTokenView, PlanView, PortalApiView, PortalAppDetail, PortalAppView, PortalCertificateView, PortalCredentialView, PortalHomeView,
    PortalRequestView, PortalSubscriptionView, ProductView,
};
use crate::error::AppError;
use crate::ssr::{self, service_error, set_status, PortalServices};

/// The gateway listener's bound address, put in every portal request by the server: the
/// portal shows consumers where to call their APIs.
#[derive(Debug, Clone, Copy)]
pub struct GatewayAddress(pub SocketAddr);

/// Reads the gateway's live quota count of a limits key: (window start, requests counted).
/// The server puts one in every portal request; the portal shows a subscription's quota used.
#[derive(Clone)]
pub struct QuotaUsageReader(pub std::sync::Arc<ReadQuota>);

/// `limits key -> (window start, requests counted)`.
pub type ReadQuota = dyn Fn(&str) -> Option<(i64, u64)> + Send + Sync;

/// Days before expiry at which a certificate is called out.
const EXPIRY_WARNING_DAYS: i64 = 30;
/// The longest rotation overlap a consumer can choose: 24 hours.
const MAX_OVERLAP_MINUTES: u64 = 24 * 60;

/// The signed-in consumer as the services' actor: user, organisation and role from the
/// session, never from the request's arguments.
pub async fn consumer() -> Result<(PortalServices, Actor), AppError> {
    let session = ssr::require_user(&ssr::request_auth())?;
    let user = session.user;
    if user.role != Role::Consumer {
        set_status(403);
        return Err(AppError::new("forbidden", "This is the developer portal: sign in with a consumer account."));
    }
    let Some(organisation) = user.organisation_id else {
        set_status(403);
        return Err(AppError::new("no_organisation", "Your account is not in an organisation yet: ask the API provider's administrator."));
    };
    let actor = Actor::Consumer { user: user.id, organisation, role: user.org_role.unwrap_or(OrgRole::Member) };
    Ok((ssr::services()?, actor))
}

fn organisation_of(actor: &Actor) -> String {
    actor.organisation().unwrap_or_default().to_string()
}

/// A confirmation checkbox of a destructive form must be ticked.
pub fn confirmed(confirm: Option<&str>) -> Result<(), AppError> {
    if confirm == Some("yes") {
        return Ok(());
    }
    set_status(400);
    Err(AppError::new("confirmation_required", "Tick the confirmation box first: this cannot be undone."))
}

pub fn overlap_seconds(minutes: u64) -> Result<u64, AppError> {
    if minutes > MAX_OVERLAP_MINUTES {
        set_status(400);
        return Err(AppError::new("invalid_overlap", "The overlap is 0 to 1440 minutes (24 hours)."));
    }
    Ok(minutes * 60)
}

/// `https://host:port` of the gateway. A gateway bound to every address is named by the host
/// the browser used for the portal.
pub fn gateway_origin() -> String {
    let parts = leptos::prelude::use_context::<http::request::Parts>();
    let bound = parts.as_ref().and_then(|p| p.extensions.get::<GatewayAddress>().copied());
    let Some(GatewayAddress(addr)) = bound else {
        return "https://localhost:8443".to_string();
    };
    let host = if addr.ip().is_unspecified() {
        parts
            .as_ref()
            .and_then(|p| p.headers.get(http::header::HOST))
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<http::uri::Authority>().ok())
            .map(|a| a.host().to_string())
            .unwrap_or_else(|| "localhost".to_string())
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    format!("https://{host}:{}", addr.port())
}

/// A time as the portal shows it: `2026-11-25 18:00 UTC`.
pub fn time_text(ts: UnixSeconds) -> String {
    let text = clock::rfc3339(ts);
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}

fn per(seconds: u32) -> String {
    match seconds {
        1 => "per second".into(),
        60 => "per minute".into(),
        3600 => "per hour".into(),
        86_400 => "per day".into(),
        n => format!("per {n} seconds"),
    }
}

fn lifetime(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("Tokens last {} day(s)", s / 86_400),
        s if s % 3600 == 0 => format!("Tokens last {} hour(s)", s / 3600),
        s => format!("Tokens last {} minute(s)", s.div_ceil(60)),
    }
}

pub fn plan_view(plan: PlanRecord) -> PlanView {
    let spec = plan.spec;
    PlanView {
        id: plan.id,
        name: spec.name,
        rate: spec.rate.map(|r| format!("{} requests {}", r.requests, per(r.per_seconds))),
        quota: spec.quota.map(|q| {
            let period = match q.period {
                QuotaPeriod::Day => "day",
                QuotaPeriod::Month => "month",
            };
            format!("{} requests per {period}", q.max)
        }),
        auto_approve: spec.auto_approve,
        token_lifetime: spec.token_lifetime_seconds.map(lifetime),
    }
}

fn auth_label(auth: AuthKind) -> &'static str {
    match auth {
        AuthKind::AuthToken => "Auth Token",
        AuthKind::Jwt => "JWT",
        AuthKind::None => "None",
    }
}

fn api_view(api: CatalogueApi, gateway: &str) -> PortalApiView {
    PortalApiView {
        gateway_url: format!("{gateway}{}", api.listen_path),
        id: api.id,
        name: api.name,
        listen_path: api.listen_path,
        auth: auth_label(api.auth).to_string(),
        mtls_required: api.mtls_required,
    }
}

fn mode_name(mode: Option<CertificateMode>) -> Option<String> {
    mode.map(|m| match m {
        CertificateMode::Managed => "managed".to_string(),
        CertificateMode::SelfServe => "self_serve".to_string(),
    })
}

/// How the product's credentials authenticate, from its APIs (a stored product's APIs agree).
fn authentication(apis: &[CatalogueApi], mode: Option<CertificateMode>) -> &'static str {
    if apis.iter().any(|a| a.auth == AuthKind::Jwt) {
        "jwt"
    } else if mode.is_some() || apis.iter().any(|a| a.mtls_required) {
        "auth_token_mtls"
    } else {
        "auth_token"
    }
}

pub fn product_view(product: CatalogueProduct, gateway: &str) -> ProductView {
    let authentication = authentication(&product.apis, product.certificate_mode).to_string();
    ProductView {
        id: product.id,
        name: product.name,
        description: product.description,
        apis: product.apis.into_iter().map(|a| api_view(a, gateway)).collect(),
        plans: product.plans.into_iter().map(plan_view).collect(),
        authentication,
        certificate_mode: mode_name(product.certificate_mode),
        certificate_binding: product.certificate_binding,
    }
}

fn certificate_view(entry: &CertificateEntry, retire_by: Option<UnixSeconds>, now: UnixSeconds) -> PortalCertificateView {
    let facts = &entry.record.facts;
    PortalCertificateView {
        id: facts.id.clone(),
        label: entry.label(),
        fingerprint_short: pki::colon_fingerprint(&facts.id).chars().take(23).collect(),
        not_after: time_text(facts.not_after),
        days_left: (facts.not_after - now).div_euclid(86_400),
        usable: facts.is_ca || pki::client_auth_problem(facts, now).is_none(),
        retire_by: retire_by.map(time_text),
    }
}

/// The certificates linked to the consumer's organisation (soonest expiry first).
async fn organisation_certificates(services: &PortalServices, actor: &Actor) -> Result<Vec<CertificateEntry>, AppError> {
    let filter = CertificateFilter { organisation: Some(organisation_of(actor)), ..CertificateFilter::default() };
    services.certificates.list(filter).await.map_err(service_error)
}

/// The organisation's certificates a Managed credential takes (usable for client authentication).
pub async fn credential_certificates(services: &PortalServices, actor: &Actor) -> Result<Vec<PortalCertificateView>, AppError> {
    let now = clock::now();
    Ok(organisation_certificates(services, actor).await?.iter().filter(|e| fits_credential(&e.record.facts)).map(|e| certificate_view(e, None, now)).collect())
}

pub fn app_view(app: AppRecord, product_count: usize) -> PortalAppView {
    PortalAppView { id: app.id, name: app.name, created_at: time_text(app.created_at), product_count }
}

pub async fn apps(services: &PortalServices, actor: &Actor) -> Result<Vec<PortalAppView>, AppError> {
    let apps = services.apps.list(actor).await.map_err(service_error)?;
    let counts = services.apps.product_counts(apps.iter().map(|a| a.id.clone()).collect()).await.map_err(service_error)?;
    Ok(apps.into_iter().zip(counts).map(|(app, n)| app_view(app, n)).collect())
}

/// Names of products and plans, for requests and subscriptions of the consumer's own apps.
struct Names {
    products: HashMap<String, String>,
    plans: HashMap<String, PlanRecord>,
}

impl Names {
    async fn load(services: &PortalServices) -> Result<Names, AppError> {
        let products = services.products.list().await.map_err(service_error)?;
        let plans = services.plans.list().await.map_err(service_error)?;
        Ok(Names {
            products: products.into_iter().map(|p| (p.id, p.spec.name)).collect(),
            plans: plans.into_iter().map(|p| (p.id.clone(), p)).collect(),
        })
    }

    fn product(&self, id: &str) -> String {
        self.products.get(id).cloned().unwrap_or_else(|| "a product no longer offered".to_string())
    }

    fn plan(&self, id: &str) -> String {
        self.plans.get(id).map(|p| p.spec.name.clone()).unwrap_or_else(|| "a plan no longer offered".to_string())
    }

    fn plan_view(&self, id: &str) -> PlanView {
        match self.plans.get(id) {
            Some(plan) => plan_view(plan.clone()),
            None => PlanView { id: id.to_string(), name: self.plan(id), rate: None, quota: None, auto_approve: false, token_lifetime: None },
        }
    }
}

fn request_view(record: AccessRequestRecord, app_name: String, product_name: String, names: &Names) -> PortalRequestView {
    let (kind, plan_name) = match &record.kind {
        RequestKind::Subscribe { plan, .. } => ("subscribe", Some(names.plan(plan))),
        RequestKind::ChangePlan { plan, .. } => ("change_plan", Some(names.plan(plan))),
        RequestKind::Renew { .. } => ("renew", None),
    };
    let reason = match &record.state {
        RequestState::Rejected { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    PortalRequestView {
        id: record.id,
        app_id: record.app,
        app_name,
        kind: kind.to_string(),
        product_name,
        plan_name,
        state: record.state.name().to_string(),
        reason,
        created_at: time_text(record.created_at),
    }
}

/// The product a request is about (a plan change or renewal: its subscription's product).
async fn product_of(services: &PortalServices, actor: &Actor, kind: &RequestKind) -> Option<String> {
    match kind {
        RequestKind::Subscribe { product, .. } => Some(product.clone()),
        RequestKind::ChangePlan { subscription, .. } | RequestKind::Renew { subscription, .. } => {
            services.subscriptions.get(actor, subscription).await.ok().map(|s| s.product)
        }
    }
}

pub async fn home(services: &PortalServices, actor: &Actor) -> Result<PortalHomeView, AppError> {
    let organisation = services.organisations.get(&organisation_of(actor)).await.map_err(service_error)?.name;
    let apps = apps(services, actor).await?;
    let names = Names::load(services).await?;
    let app_names: HashMap<String, String> = apps.iter().map(|a| (a.id.clone(), a.name.clone())).collect();
    let mut requests = Vec::new();
    for record in services.access_requests.list(actor, None).await.map_err(service_error)? {
        if !matches!(record.state, RequestState::Pending | RequestState::Rejected { .. }) {
            continue;
        }
        let app_name = app_names.get(&record.app).cloned().unwrap_or_else(|| "a deleted app".to_string());
        let product = product_of(services, actor, &record.kind).await.map(|p| names.product(&p)).unwrap_or_default();
        requests.push(request_view(record, app_name, product, &names));
    }
    let now = clock::now();
    let certificates: Vec<PortalCertificateView> = organisation_certificates(services, actor).await?.iter().map(|e| certificate_view(e, None, now)).collect();
    let expiring = certificates.iter().filter(|c| c.days_left < EXPIRY_WARNING_DAYS).cloned().collect();
    Ok(PortalHomeView { organisation, apps, requests, expiring, certificates })
}

fn credential_view(entry: &certgate_services::portal::credentials::CredentialEntry, now: UnixSeconds) -> PortalCredentialView {
    let tokens = &entry.credential.tokens;
    let status = serde_json::to_value(tokens.status(now)).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    PortalCredentialView {
        id: entry.credential.id.clone(),
        status,
        token_expires_at: tokens.current.as_ref().and_then(|t| t.expires_at).map(time_text),
        previous_token_until: tokens.previous.as_ref().map(|(_, until)| *until).filter(|u| *u > now).map(time_text),
    }
}

/// The subscription's quota use in the current window, from the gateway's live count (the
/// subscription is the limits key: plan changes and rotations keep counting).
fn quota_used(names: &Names, plan: &str, subscription: &str, now: UnixSeconds) -> Option<String> {
    let quota = names.plans.get(plan)?.spec.quota?;
    let (start, _) = quota.period.window(now);
    let reader = leptos::prelude::use_context::<http::request::Parts>()?.extensions.get::<QuotaUsageReader>().cloned();
    let used = match reader.and_then(|r| (r.0)(subscription)) {
        Some((window_start, used)) if window_start == start => used,
        _ => 0,
    };
    let period = match quota.period {
        QuotaPeriod::Day => "today",
        QuotaPeriod::Month => "this month",
    };
    Some(format!("{used} of {} requests used {period}", quota.max))
}

pub async fn app_detail(services: &PortalServices, actor: &Actor, id: &str) -> Result<PortalAppDetail, AppError> {
    let app = services.apps.get(actor, id).await.map_err(service_error)?;
    let now = clock::now();
    let gateway = gateway_origin();
    let names = Names::load(services).await?;
    let catalogue = services.catalogue.list(actor).await.map_err(service_error)?;
    let organisation_certificates = credential_certificates(services, actor).await?;
    let credentials = services.credentials.of_app(actor, &app.id).await.map_err(service_error)?;
    let mut subscriptions = Vec::new();
    let mut claimed: Vec<String> = Vec::new();
    for entry in services.subscriptions.of_app(actor, &app.id).await.map_err(service_error)? {
        let s = entry.subscription;
        claimed.push(s.product.clone());
        // A product no longer in the organisation's catalogue shows its name and plan only.
        let shown = catalogue.iter().find(|p| p.id == s.product).cloned();
        let (apis, authentication, mode, binding, plans) = match shown {
            Some(p) => {
                let auth = authentication(&p.apis, p.certificate_mode).to_string();
                let plans: Vec<PlanView> = p.plans.into_iter().filter(|plan| plan.id != s.plan).map(plan_view).collect();
                (p.apis.into_iter().map(|a| api_view(a, &gateway)).collect(), auth, p.certificate_mode, p.certificate_binding, plans)
            }
            None => (Vec::new(), "auth_token".to_string(), None, false, Vec::new()),
        };
        let certificates = match mode {
            Some(CertificateMode::Managed) => organisation_certificates.clone(),
            _ => {
                let mut own = Vec::new();
                for c in &s.certificates {
                    if let Ok(entry) = services.certificates.get(&c.id).await {
                        own.push(certificate_view(&entry, c.retire_by, now));
                    }
                }
                own
            }
        };
        let credential = credentials.iter().find(|c| c.subscription.id == s.id).map(|c| credential_view(c, now));
        let product_name = names.product(&s.product);
        let pending = entry.pending.into_iter().map(|r| request_view(r, app.name.clone(), product_name.clone(), &names)).collect();
        subscriptions.push(PortalSubscriptionView {
            id: s.id.clone(),
            product_id: s.product.clone(),
            product_name,
            authentication,
            certificate_mode: mode_name(mode),
            certificate_binding: binding,
            apis,
            quota_used: quota_used(&names, &s.plan, &s.id, now),
            plan: names.plan_view(&s.plan),
            other_plans: plans,
            credential,
            certificates,
            pending,
        });
    }
    let mut requests = Vec::new();
    for record in services.access_requests.list(actor, None).await.map_err(service_error)? {
        let RequestKind::Subscribe { product, .. } = &record.kind else { continue };
        if record.app != app.id || !matches!(record.state, RequestState::Pending | RequestState::Rejected { .. }) {
            continue;
        }
        if record.state.is_pending() {
            claimed.push(product.clone());
        }
        let product_name = names.product(product);
        requests.push(request_view(record, app.name.clone(), product_name, &names));
    }
    let requestable = catalogue.into_iter().filter(|p| !claimed.contains(&p.id)).map(|p| product_view(p, &gateway)).collect();
    let product_count = claimed.len();
    Ok(PortalAppDetail {
        app: app_view(app, product_count),
        subscriptions,
        requests,
        requestable,
        organisation_certificates,
        gateway_origin: gateway,
    })
}

pub async fn request_access(
    services: &PortalServices,
    actor: &Actor,
    app: String,
    product: String,
    plan: String,
    certificate: Option<String>,
) -> Result<PortalRequestView, AppError> {
    let certificate = certificate.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    let new = NewRequest { product, plan, certificate: certificate.map(String::into_bytes) };
    let record = services.access_requests.create(actor, &app, new).await.map_err(request_error)?;
    let names = Names::load(services).await?;
    let app_name = services.apps.get(actor, &record.app).await.map(|a| a.name).unwrap_or_default();
    let product = product_of(services, actor, &record.kind).await.map(|p| names.product(&p)).unwrap_or_default();
    Ok(request_view(record, app_name, product, &names))
}

/// A refused request in plain words (the certificate is never part of a message).
pub fn request_error(error: ServiceError) -> AppError {
    let mut e = service_error(error);
    if e.code == "private_key_not_certificate" {
        e.message = "This is a private key, not a certificate: it was not stored and is not shown again. \
                     Keep the private key on your side; paste only the certificate (-----BEGIN CERTIFICATE-----)."
            .to_string();
    }
    e
}

/// The answer that carries a new token: the only place it is ever shown.
pub fn token_answer(credential: String, token: String, previous_token_until: Option<String>) -> NewTokenView {
    NewTokenView { credential_id: credential, token, previous_token_until }
}
