//! Server-side glue of the admin's portal screens (plans, products, access requests): the forms
//! turned into service specs, and the records turned into the views the screens show, with
//! names instead of ids.

use std::collections::HashMap;

use certgate_core::gateway::spec::{Quota, QuotaPeriod, Rate};
use certgate_core::pki;
use certgate_core::portal::plan::PlanSpec;
use certgate_core::portal::product::{CertificateMode, ProductAuth, ProductSpec};
use certgate_core::portal::request::{RequestKind, RequestState};
use certgate_services::certificates::CertificateFilter;
use certgate_services::clock;
use certgate_services::plans::PlanRecord;
use certgate_services::portal::requests::AccessRequestRecord;
use certgate_services::portal::Actor;
use certgate_services::products::ProductEntry;
use certgate_services::sessions::ActiveSession;
use certgate_services::ServiceError;

use crate::api::plans::{lifetime_unit_seconds, PlanForm, PlanView};
use crate::api::products::{Named, ProductForm, ProductView};
use crate::api::requests::{RequestDetail, RequestList, RequestView, SubmittedCertificate, STATES};
use crate::error::AppError;
use crate::ssr::{service_error, set_status, PortalServices};

/// The admin acting through the portal, as the services know them (the audit log names the user).
pub fn admin_actor(session: &ActiveSession) -> Actor {
    Actor::Admin { name: session.user.id.clone() }
}

fn bad(code: &str, message: impl Into<String>) -> AppError {
    set_status(400);
    AppError::new(code, message)
}

fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(value: &Option<String>, code: &str, message: &str) -> Result<Option<T>, AppError> {
    filled(value).map(|v| v.parse::<T>().map_err(|_| bad(code, message))).transpose()
}

/// A delete form's confirmation box must be ticked.
pub fn require_confirmation(confirm: Option<&str>) -> Result<(), AppError> {
    match confirm {
        Some(v) if !v.is_empty() => Ok(()),
        _ => Err(bad("confirmation_required", "Tick the box to confirm the deletion.")),
    }
}

pub fn plan_view(record: &PlanRecord) -> PlanView {
    let spec = &record.spec;
    PlanView {
        id: record.id.clone(),
        name: spec.name.clone(),
        rate: spec.rate.map(|r| (r.requests, r.per_seconds)),
        quota: spec.quota.map(|q| {
            (q.max, match q.period {
                QuotaPeriod::Day => "day".to_string(),
                QuotaPeriod::Month => "month".to_string(),
            })
        }),
        auto_approve: spec.auto_approve,
        token_lifetime_seconds: spec.token_lifetime_seconds,
    }
}

/// The plan form as a spec (the service checks it as a whole).
pub fn plan_spec(form: PlanForm) -> Result<PlanSpec, AppError> {
    let rate_message = "The rate limit is a whole number of requests per a whole number of seconds (1 to 86400).";
    let requests: Option<u32> = number(&form.rate_requests, "invalid_rate", rate_message)?;
    let per_seconds: Option<u32> = number(&form.rate_per_seconds, "invalid_rate", rate_message)?;
    let rate = match (requests, per_seconds) {
        (None, None) => None,
        (Some(requests), Some(per_seconds)) => Some(Rate { requests, per_seconds }),
        _ => return Err(bad("invalid_rate", "Give both the number of requests and the seconds, or neither for no rate limit.")),
    };
    let max: Option<u64> = number(&form.quota_max, "invalid_quota", "The quota is a whole number of requests.")?;
    let quota = match max {
        None => None,
        Some(max) => {
            let period = match filled(&form.quota_period) {
                Some("day") => QuotaPeriod::Day,
                Some("month") | None => QuotaPeriod::Month,
                Some(_) => return Err(bad("invalid_quota", "The quota counts per day or per month.")),
            };
            Some(Quota { max, period })
        }
    };
    let amount: Option<u64> = number(&form.token_lifetime, "invalid_token_lifetime", "The token lifetime is a whole number.")?;
    let token_lifetime_seconds = match amount {
        None => None,
        Some(amount) => {
            let unit = lifetime_unit_seconds(filled(&form.token_lifetime_unit).unwrap_or("days"))
                .ok_or_else(|| bad("invalid_token_lifetime", "The token lifetime is in minutes, hours or days."))?;
            Some(amount.checked_mul(unit).ok_or_else(|| bad("invalid_token_lifetime", "The token lifetime is too long."))?)
        }
    };
    Ok(PlanSpec { name: form.name, rate, quota, auto_approve: filled(&form.auto_approve).is_some(), token_lifetime_seconds })
}

/// The product form as a spec (the service checks it against the stored APIs, plans and
/// organisations).
pub fn product_spec(form: ProductForm) -> Result<ProductSpec, AppError> {
    let visible_to = match filled(&form.visibility) {
        None | Some("all") => None,
        Some("chosen") => {
            let chosen = form.organisations.unwrap_or_default();
            if chosen.iter().all(|o| o.trim().is_empty()) {
                return Err(bad("visibility_empty", "Choose at least one organisation, or make the product visible to all."));
            }
            Some(chosen)
        }
        Some(_) => return Err(bad("invalid_visibility", "Visibility is all organisations or chosen ones.")),
    };
    let certificate_mode = match filled(&form.certificate_mode) {
        None => None,
        Some("managed") => Some(CertificateMode::Managed),
        Some("self_serve") => Some(CertificateMode::SelfServe),
        Some(_) => return Err(bad("invalid_mode", "The certificate mode is Managed or Self-Serve.")),
    };
    Ok(ProductSpec {
        name: form.name,
        description: form.description.unwrap_or_default(),
        apis: form.apis.unwrap_or_default(),
        plans: form.plans.unwrap_or_default(),
        published: filled(&form.published).is_some(),
        visible_to,
        certificate_mode,
        certificate_binding: filled(&form.certificate_binding).is_some(),
    })
}

/// Names of everything a screen refers to by id, loaded once per call.
struct Names {
    apis: HashMap<String, String>,
    plans: HashMap<String, String>,
    organisations: HashMap<String, String>,
    products: HashMap<String, String>,
}

impl Names {
    async fn load(services: &PortalServices) -> Result<Names, AppError> {
        let apis = services.apis.list().await.map_err(service_error)?;
        let plans = services.plans.list().await.map_err(service_error)?;
        let organisations = services.organisations.list().await.map_err(service_error)?;
        let products = services.products.list().await.map_err(service_error)?;
        Ok(Names {
            apis: apis.into_iter().map(|a| (a.id, a.spec.name)).collect(),
            plans: plans.into_iter().map(|p| (p.id, p.spec.name)).collect(),
            organisations: organisations.into_iter().map(|o| (o.id, o.name)).collect(),
            products: products.into_iter().map(|p| (p.id, p.spec.name)).collect(),
        })
    }

    fn named(map: &HashMap<String, String>, id: &str) -> Named {
        Named { id: id.to_string(), name: map.get(id).cloned().unwrap_or_else(|| id.to_string()) }
    }
}

fn product_view(entry: &ProductEntry, names: &Names) -> ProductView {
    let spec = &entry.record.spec;
    let authentication = match entry.auth {
        ProductAuth::AuthToken { mtls: true } => "auth_token_mtls",
        ProductAuth::AuthToken { mtls: false } => "auth_token",
        ProductAuth::Jwt => "jwt",
    };
    ProductView {
        id: entry.record.id.clone(),
        name: spec.name.clone(),
        description: spec.description.clone(),
        apis: spec.apis.iter().map(|id| Names::named(&names.apis, id)).collect(),
        plans: spec.plans.iter().map(|id| Names::named(&names.plans, id)).collect(),
        published: spec.published,
        visible_to: spec.visible_to.as_ref().map(|orgs| orgs.iter().map(|id| Names::named(&names.organisations, id)).collect()),
        authentication: authentication.to_string(),
        certificate_mode: spec.certificate_mode.map(|m| mode_name(m).to_string()),
        certificate_binding: spec.certificate_binding,
    }
}

fn mode_name(mode: CertificateMode) -> &'static str {
    match mode {
        CertificateMode::Managed => "managed",
        CertificateMode::SelfServe => "self_serve",
    }
}

/// Every product (or the one with `id`), with names.
pub async fn product_views(services: &PortalServices, id: Option<&str>) -> Result<Vec<ProductView>, AppError> {
    let entries = match id {
        Some(id) => vec![services.products.entry(id).await.map_err(service_error)?],
        None => services.products.entries().await.map_err(service_error)?,
    };
    let names = Names::load(services).await?;
    Ok(entries.iter().map(|e| product_view(e, &names)).collect())
}

/// The ids of one kind (`sub_…`) a service message names.
fn ids_in(message: &str, prefix: &str) -> Vec<String> {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.starts_with(prefix) && t.len() > prefix.len())
        .map(str::to_string)
        .collect()
}

/// "app Checkout of Acme Corp" for each subscription a message names.
async fn subscription_words(services: &PortalServices, actor: &Actor, message: &str) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids_in(message, "sub_") {
        let Ok(subscription) = services.subscriptions.get(actor, &id).await else {
            out.push(format!("subscription {id}"));
            continue;
        };
        let app = services.apps.get(actor, &subscription.app).await.map(|a| a.name).unwrap_or(subscription.app.clone());
        let org = services.organisations.get(&subscription.organisation).await.map(|o| o.name).unwrap_or(subscription.organisation.clone());
        out.push(format!("app {app} of {org}"));
    }
    out
}

/// A deletion refused because something uses the plan or product, said with names: which
/// products offer the plan, which apps' subscriptions use it.
pub async fn in_use_error(services: &PortalServices, admin: &ActiveSession, error: ServiceError) -> AppError {
    let ServiceError::Conflict { code, message } = &error else {
        return service_error(error);
    };
    let actor = admin_actor(admin);
    let plain = match *code {
        "plan_in_use" if message.contains("sub_") => {
            let users = subscription_words(services, &actor, message).await;
            format!(
                "This plan cannot be deleted: subscriptions use it ({}). They must change to another plan or end first.",
                users.join("; ")
            )
        }
        "plan_in_use" => {
            let mut names = Vec::new();
            for id in ids_in(message, "prd_") {
                names.push(services.products.get(&id).await.map(|p| p.spec.name).unwrap_or(id));
            }
            format!("This plan cannot be deleted: products {} offer it. Take it out of them first.", names.join(", "))
        }
        "product_in_use" => {
            let users = subscription_words(services, &actor, message).await;
            format!(
                "This product cannot be deleted: it has subscriptions ({}). Their apps must end them first.",
                users.join("; ")
            )
        }
        _ => return service_error(error),
    };
    set_status(409);
    AppError::new(code, plain)
}

fn state_decided(state: &RequestState) -> (Option<String>, Option<String>) {
    match state {
        RequestState::Pending => (None, None),
        RequestState::Approved { at, by } => (None, Some(format!("Approved by {by} at {}", clock::rfc3339(*at)))),
        RequestState::Rejected { at, by, reason } => (Some(reason.clone()), Some(format!("Rejected by {by} at {}", clock::rfc3339(*at)))),
        RequestState::Withdrawn { at } => (None, Some(format!("Withdrawn by the consumer at {}", clock::rfc3339(*at)))),
    }
}

/// Builds request views, resolving names (apps and subscriptions are looked up once each).
struct RequestViews<'a> {
    services: &'a PortalServices,
    actor: Actor,
    names: Names,
    apps: HashMap<String, String>,
    subscriptions: HashMap<String, Option<(String, String)>>,
    users: HashMap<String, String>,
}

impl<'a> RequestViews<'a> {
    async fn new(services: &'a PortalServices, admin: &ActiveSession) -> Result<RequestViews<'a>, AppError> {
        Ok(RequestViews {
            services,
            actor: admin_actor(admin),
            names: Names::load(services).await?,
            apps: HashMap::new(),
            subscriptions: HashMap::new(),
            users: HashMap::new(),
        })
    }

    async fn app_name(&mut self, id: &str) -> String {
        if let Some(name) = self.apps.get(id) {
            return name.clone();
        }
        let name = self.services.apps.get(&self.actor, id).await.map(|a| a.name).unwrap_or_else(|_| format!("{id} (deleted)"));
        self.apps.insert(id.to_string(), name.clone());
        name
    }

    /// The product and plan of a subscription.
    async fn subscription(&mut self, id: &str) -> Option<(String, String)> {
        if let Some(found) = self.subscriptions.get(id) {
            return found.clone();
        }
        let found = self.services.subscriptions.get(&self.actor, id).await.ok().map(|s| (s.product, s.plan));
        self.subscriptions.insert(id.to_string(), found.clone());
        found
    }

    /// Who decided: an admin user's email rather than their id.
    async fn who(&mut self, id: &str) -> String {
        if let Some(email) = self.users.get(id) {
            return email.clone();
        }
        let email = self.services.accounts.get_user(id).await.ok().flatten().map(|u| u.email).unwrap_or_else(|| id.to_string());
        self.users.insert(id.to_string(), email.clone());
        email
    }

    async fn view(&mut self, record: &AccessRequestRecord) -> RequestView {
        let (kind, product, plan) = match &record.kind {
            RequestKind::Subscribe { product, plan, .. } => ("subscribe", Some(product.clone()), Some(plan.clone())),
            RequestKind::ChangePlan { subscription, plan } => {
                ("change_plan", self.subscription(subscription).await.map(|s| s.0), Some(plan.clone()))
            }
            RequestKind::Renew { subscription, .. } => {
                let found = self.subscription(subscription).await;
                ("renew", found.as_ref().map(|s| s.0.clone()), found.map(|s| s.1))
            }
        };
        let state = match &record.state {
            RequestState::Approved { at, by } => RequestState::Approved { at: *at, by: self.who(by).await },
            RequestState::Rejected { at, by, reason } => RequestState::Rejected { at: *at, by: self.who(by).await, reason: reason.clone() },
            other => other.clone(),
        };
        let (reason, decided) = state_decided(&state);
        RequestView {
            id: record.id.clone(),
            app: Named { id: record.app.clone(), name: self.app_name(&record.app).await },
            organisation: Names::named(&self.names.organisations, &record.organisation),
            product: product.map(|p| Names::named(&self.names.products, &p)),
            plan: plan.map(|p| Names::named(&self.names.plans, &p)),
            kind: kind.to_string(),
            state: record.state.name().to_string(),
            reason,
            decided,
            requested_at: clock::rfc3339(record.created_at),
        }
    }
}

/// Requests per page of a tab.
const REQUESTS_PER_PAGE: usize = 50;

/// A tab: its page of requests (newest first, after the list key `after`) and every tab's count.
pub async fn request_list(services: &PortalServices, admin: &ActiveSession, state: &str, after: Option<String>) -> Result<RequestList, AppError> {
    let actor = admin_actor(admin);
    // The counts from the index's keys, the tab's requests from its own list: no other record read.
    let mut counts = services.access_requests.counts(&actor).await.map_err(service_error)?;
    let counts = STATES.iter().map(|s| (s.to_string(), counts.remove(*s).unwrap_or(0))).collect();
    let page = services.access_requests.page(&actor, Some(state), after, REQUESTS_PER_PAGE).await.map_err(service_error)?;
    let older = if page.more { page.items.last().map(certgate_services::portal::records::request_key) } else { None };
    let mut views = RequestViews::new(services, admin).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for record in &page.items {
        items.push(views.view(record).await);
    }
    Ok(RequestList { counts, items, older })
}

/// A submitted certificate, parsed again and judged at the current time.
fn submitted_certificate(der: &[u8]) -> Option<SubmittedCertificate> {
    let (_, facts) = pki::read_one_certificate(der, pki::Encoding::Der).ok()?;
    let now = clock::now();
    let problem = pki::client_auth_problem(&facts, now);
    Some(SubmittedCertificate {
        fingerprint_sha256: pki::colon_fingerprint(&facts.id),
        id: facts.id.clone(),
        subject: facts.subject.clone(),
        issuer: facts.issuer.clone(),
        serial: facts.serial.clone(),
        not_before: clock::rfc3339(facts.not_before),
        not_after: clock::rfc3339(facts.not_after),
        validity: match pki::validity_at(&facts, now) {
            pki::Validity::Valid => "valid",
            pki::Validity::Expired => "expired",
            pki::Validity::NotYetValid => "not_yet_valid",
        }
        .to_string(),
        key_algorithm: facts.key_algorithm.clone(),
        usable_now: problem.is_none(),
        problem: problem.map(|p| p.describe().to_string()),
    })
}

/// One request with its product's mode, and in Self-Serve the certificate submitted with it.
pub async fn request_detail(services: &PortalServices, admin: &ActiveSession, id: &str) -> Result<RequestDetail, AppError> {
    let actor = admin_actor(admin);
    let record = services.access_requests.get(&actor, id).await.map_err(service_error)?;
    let mut views = RequestViews::new(services, admin).await?;
    let request = views.view(&record).await;
    let entry = match &request.product {
        Some(p) => services.products.entry(&p.id).await.ok(),
        None => None,
    };
    let modes_apply = entry.as_ref().is_some_and(|e| e.auth == ProductAuth::AuthToken { mtls: true });
    let mode = entry.as_ref().and_then(|e| e.record.spec.certificate_mode).filter(|_| modes_apply);
    let organisation_certificates = match mode {
        Some(CertificateMode::Managed) if matches!(record.kind, RequestKind::Subscribe { .. }) => {
            let filter = CertificateFilter { organisation: Some(record.organisation.clone()), ..CertificateFilter::default() };
            let linked = services.certificates.list(filter).await.map_err(service_error)?;
            let now = clock::now();
            Some(linked.iter().filter(|c| pki::client_auth_problem(&c.record.facts, now).is_none()).count())
        }
        _ => None,
    };
    Ok(RequestDetail {
        request,
        certificate_mode: mode.map(|m| mode_name(m).to_string()),
        certificate_binding: modes_apply && entry.as_ref().is_some_and(|e| e.record.spec.certificate_binding),
        certificate: record.certificate_der.as_deref().and_then(submitted_certificate),
        organisation_certificates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_in_service_messages() {
        let message = "Subscriptions sub_01ab, sub_02cd use the plan.";
        assert_eq!(ids_in(message, "sub_"), vec!["sub_01ab".to_string(), "sub_02cd".to_string()]);
        assert_eq!(ids_in("offered by products prd_9: take", "prd_"), vec!["prd_9".to_string()]);
        assert!(ids_in("Subscriptions use it", "sub_").is_empty());
    }

    #[test]
    fn plan_forms_become_specs_or_say_which_field_is_wrong() {
        let form = PlanForm {
            name: "Gold".into(),
            rate_requests: Some("100".into()),
            rate_per_seconds: Some("60".into()),
            quota_max: Some("10000".into()),
            quota_period: Some("day".into()),
            auto_approve: Some("on".into()),
            token_lifetime: Some("30".into()),
            token_lifetime_unit: Some("days".into()),
        };
        let spec = plan_spec(form.clone()).unwrap();
        assert_eq!(spec.rate, Some(Rate { requests: 100, per_seconds: 60 }));
        assert_eq!(spec.quota, Some(Quota { max: 10_000, period: QuotaPeriod::Day }));
        assert_eq!((spec.auto_approve, spec.token_lifetime_seconds), (true, Some(30 * 86_400)));
        let empty = PlanForm { name: "Free".into(), rate_requests: Some(" ".into()), ..PlanForm::default() };
        let spec = plan_spec(empty).unwrap();
        assert_eq!((spec.rate, spec.quota, spec.auto_approve, spec.token_lifetime_seconds), (None, None, false, None));
        let half = PlanForm { rate_per_seconds: None, ..form.clone() };
        assert_eq!(plan_spec(half).unwrap_err().code, "invalid_rate");
        let words = PlanForm { quota_max: Some("lots".into()), ..form };
        assert_eq!(plan_spec(words).unwrap_err().code, "invalid_quota");
    }

    #[test]
    fn product_forms_keep_visibility_and_mode() {
        let form = ProductForm {
            name: "Shop".into(),
            apis: Some(vec!["api_1".into()]),
            visibility: Some("chosen".into()),
            organisations: Some(vec!["org_1".into()]),
            certificate_mode: Some("self_serve".into()),
            certificate_binding: Some("on".into()),
            published: Some("on".into()),
            ..ProductForm::default()
        };
        let spec = product_spec(form.clone()).unwrap();
        assert_eq!(spec.visible_to, Some(vec!["org_1".to_string()]));
        assert_eq!((spec.certificate_mode, spec.certificate_binding, spec.published), (Some(CertificateMode::SelfServe), true, true));
        let nobody = ProductForm { organisations: None, ..form.clone() };
        assert_eq!(product_spec(nobody).unwrap_err().code, "visibility_empty");
        let all = ProductForm { visibility: Some("all".into()), certificate_mode: None, certificate_binding: None, ..form };
        let spec = product_spec(all).unwrap();
        assert_eq!((spec.visible_to, spec.certificate_mode, spec.certificate_binding), (None, None, false));
    }
}
