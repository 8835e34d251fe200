//! Server-side glue of the admin's "used by" and effective allow lists (derived from the
//! services by the gateway's own rule) and the audit filter: records turned into what the
//! screens show, with names instead of ids.

use std::collections::{BTreeSet, HashMap};

use certgate_core::pki;
use certgate_core::portal::credential::CredentialStatus;
use certgate_services::audit::AuditFilter;
use certgate_services::clock;
use certgate_services::portal::overview::SubscriptionFilter;
use certgate_services::portal::requests::SubscriptionRecord;
use certgate_services::portal::Actor;
use certgate_services::sessions::ActiveSession;

use crate::api::products::Named;
use crate::api::usage::{AllowListPage, CertificateUses, CredentialUse, EffectiveEntry, LastSeenRow, SubscriptionUse};
use crate::error::AppError;
use crate::ssr::{service_error, PortalServices};
use crate::ssr_portal::admin_actor;

fn name<'a>(map: &'a HashMap<String, String>, id: &'a str) -> &'a str {
    map.get(id).map(String::as_str).unwrap_or(id)
}

/// App names by id, each read once per page.
pub struct AppNames<'a> {
    services: &'a PortalServices,
    actor: Actor,
    names: HashMap<String, String>,
}

impl<'a> AppNames<'a> {
    pub fn new(services: &'a PortalServices, actor: Actor) -> AppNames<'a> {
        AppNames { services, actor, names: HashMap::new() }
    }

    /// The app's name, or its id when it is gone.
    pub async fn get(&mut self, id: &str) -> String {
        if let Some(name) = self.names.get(id) {
            return name.clone();
        }
        let name = self.services.apps.get(&self.actor, id).await.map(|a| a.name).unwrap_or_else(|_| id.to_string());
        self.names.insert(id.to_string(), name.clone());
        name
    }
}

/// Every subscription matching `filter` (the admin's paged list, read to the end).
pub async fn all_subscriptions(services: &PortalServices, actor: &Actor, filter: SubscriptionFilter) -> Result<Vec<SubscriptionRecord>, AppError> {
    let mut out: Vec<SubscriptionRecord> = Vec::new();
    loop {
        let after = out.last().map(|s| s.id.clone());
        let page = services.overview.subscriptions(actor, filter.clone(), after, 500).await.map_err(service_error)?;
        out.extend(page.items);
        if !page.more {
            return Ok(out);
        }
    }
}

pub fn status_name(status: CredentialStatus) -> &'static str {
    match status {
        CredentialStatus::NoToken => "approved, no token yet",
        CredentialStatus::Active => "active",
        CredentialStatus::Rotating => "rotating (two tokens work)",
        CredentialStatus::Revoked => "revoked",
        CredentialStatus::Expired => "token expired",
    }
}

fn names_by_id<T>(items: Vec<T>, f: impl Fn(T) -> (String, String)) -> HashMap<String, String> {
    items.into_iter().map(f).collect()
}

/// What uses a certificate: API entries, admin keys bound to it, Self-Serve subscriptions
/// holding it, and the portal credentials that work with it now (Managed credentials of its
/// organisations included).
pub async fn certificate_usage(services: &PortalServices, admin: &ActiveSession, id: &str) -> Result<CertificateUses, AppError> {
    let actor = admin_actor(admin);
    let entry = services.certificates.get(id).await.map_err(service_error)?;
    let id = entry.record.facts.id.clone();
    let organisations = names_by_id(services.organisations.list().await.map_err(service_error)?, |o| (o.id, o.name));
    let products = names_by_id(services.products.list().await.map_err(service_error)?, |p| (p.id, p.spec.name));
    let plans = names_by_id(services.plans.list().await.map_err(service_error)?, |p| (p.id, p.spec.name));
    let apis = names_by_id(services.apis.list().await.map_err(service_error)?, |a| (a.id, a.spec.name));
    let mut app_names = AppNames::new(services, actor.clone());
    let mut usage = CertificateUses::default();
    let mut candidates: BTreeSet<String> = BTreeSet::new();
    for user in &entry.used_by {
        match user.kind.as_str() {
            "api" => usage.api_entries.push(Named { id: user.id.clone(), name: user.name.clone() }),
            "key" => usage.keys.push(user.id.clone()),
            "subscription" => {
                let Ok(s) = services.subscriptions.get(&actor, &user.id).await else { continue };
                usage.subscriptions.push(SubscriptionUse {
                    id: s.id.clone(),
                    app: app_names.get(&s.app).await,
                    organisation: name(&organisations, &s.organisation).to_string(),
                    product: name(&products, &s.product).to_string(),
                    plan: name(&plans, &s.plan).to_string(),
                    retire_by: s.certificates.iter().find(|c| c.id == id).and_then(|c| c.retire_by).map(clock::rfc3339),
                });
                candidates.insert(s.id);
            }
            _ => {}
        }
    }
    for organisation in &entry.meta.organisation_ids {
        let filter = SubscriptionFilter { organisation: Some(organisation.clone()), ..SubscriptionFilter::default() };
        candidates.extend(all_subscriptions(services, &actor, filter).await?.into_iter().map(|s| s.id));
    }
    // Derived in the services, as the gateway's view is.
    for found in services.subscriptions.grants(&actor, candidates.into_iter().collect()).await.map_err(service_error)? {
        let Some(grant) = found.grant.filter(|g| g.certificates.contains(&id)) else { continue };
        let s = found.subscription;
        usage.credentials.push(CredentialUse {
            id: found.credential,
            app: app_names.get(&s.app).await,
            organisation: name(&organisations, &s.organisation).to_string(),
            product: name(&products, &s.product).to_string(),
            status: status_name(found.status).to_string(),
            bound: grant.bound,
            apis: grant.apis.iter().map(|a| name(&apis, a).to_string()).collect(),
        });
    }
    if let Some(traffic) = crate::ssr_traffic::source() {
        // Latest first, as the source sorts them.
        usage.last_seen = traffic
            .last_seen_of_certificate(&id, clock::now())
            .into_iter()
            .map(|s| LastSeenRow {
                api: Named { id: s.api_id.clone(), name: name(&apis, &s.api_id).to_string() },
                at: crate::api::portal::server::time_text(s.at),
                requests_24h: s.requests_24h,
            })
            .collect();
    }
    Ok(usage)
}

const ALLOW_LIST_PAGE: usize = 20;

/// An API's effective allow list (the admin's entries and what live portal credentials of the
/// products containing it contribute), with the source of each entry, one page of it. The
/// services derive it from the indexes; here the ids become names.
pub async fn effective_allow_list(services: &PortalServices, admin: &ActiveSession, api_id: &str, page: usize) -> Result<AllowListPage, AppError> {
    let actor = admin_actor(admin);
    let page = page.max(1);
    let mut found = services.subscriptions.effective_allow_list(&actor, api_id, (page - 1) * ALLOW_LIST_PAGE, ALLOW_LIST_PAGE).await.map_err(service_error)?;
    let pages = found.total.div_ceil(ALLOW_LIST_PAGE).max(1);
    if page > pages {
        // Past the end (entries left meanwhile): the last page.
        found = services.subscriptions.effective_allow_list(&actor, api_id, (pages - 1) * ALLOW_LIST_PAGE, ALLOW_LIST_PAGE).await.map_err(service_error)?;
    }
    let organisations = names_by_id(services.organisations.list().await.map_err(service_error)?, |o| (o.id, o.name));
    let products = names_by_id(services.products.list().await.map_err(service_error)?, |p| (p.id, p.spec.name));
    let mut app_names = AppNames::new(services, actor.clone());
    let now = clock::now();
    let mut entries = Vec::with_capacity(found.entries.len());
    for entry in found.entries {
        let mut sources = Vec::new();
        if entry.admin_entry {
            sources.push("Admin entry on this API".to_string());
        }
        for c in &entry.sources {
            sources.push(format!("Product {} → app {} → {}", name(&products, &c.product), app_names.get(&c.app).await, name(&organisations, &c.organisation)));
        }
        let more = entry.contributors.saturating_sub(entry.sources.len());
        if more > 0 {
            sources.push(format!("and {more} more"));
        }
        let facts = entry.record.as_ref().map(|r| &r.facts);
        entries.push(EffectiveEntry {
            label: entry.label.unwrap_or_else(|| format!("{} (not in the store)", entry.certificate)),
            fingerprint_short: pki::colon_fingerprint(&entry.certificate).chars().take(23).collect(),
            kind: if facts.is_some_and(|f| f.is_ca) { "ca" } else { "leaf" }.to_string(),
            problem: facts.filter(|f| !f.is_ca).and_then(|f| pki::client_auth_problem(f, now)).map(|p| p.code().to_string()),
            id: entry.certificate,
            sources,
        });
    }
    Ok(AllowListPage { entries, total: found.total, page: page.min(pages), pages, mtls_required: found.mtls_required })
}

/// The audit filter from the page's query (blank fields: no filter).
pub fn audit_filter(actor: Option<String>, organisation: Option<String>, kind: Option<String>) -> AuditFilter {
    let given = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    AuditFilter { actor: given(actor), organisation: given(organisation), kind: given(kind) }
}

/// An action in words: `credential.revoked` -> "Credential revoked".
pub fn action_words(action: &str) -> String {
    let text = action.replace(['.', '_'], " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_as_words() {
        assert_eq!(action_words("credential.revoked"), "Credential revoked");
        assert_eq!(action_words("user.invite_link_issued"), "User invite link issued");
        let f = audit_filter(Some(" ".into()), Some("org_1".into()), None);
        assert_eq!((f.actor, f.organisation.as_deref(), f.kind), (None, Some("org_1"), None));
    }
}
