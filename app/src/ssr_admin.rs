//! Server-side glue of the admin's change previews, "used by", effective allow lists, audit
//! log and organisation pages: service records turned into what the screens show, with names
//! instead of ids.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use certgate_core::pki;
use certgate_core::portal::credential::CredentialStatus;
use certgate_core::portal::product::ProductSpec;
use certgate_core::portal::derive::{credential_grant, fits_credential, CredentialGrant, CredentialInputs, ProductTerms};
use certgate_services::audit::AuditFilter;
use certgate_services::certificates::{CertificateEntry, CertificateFilter};
use certgate_services::clock;
use certgate_services::portal::credentials::CredentialRecord;
use certgate_services::portal::overview::SubscriptionFilter;
use certgate_services::portal::requests::SubscriptionRecord;
use certgate_services::portal::Actor;
use certgate_services::sessions::ActiveSession;
use certgate_services::store::changes::GrantSummary;
use certgate_services::store::ChangePreview;
use certgate_services::ServiceError;

use crate::api::certificates::CertificateView;
use crate::api::changes::{ChangeWords, Previewed};
use crate::api::products::ProductView;
use crate::api::products::Named;
use crate::api::usage::{AllowListPage, CertificateUses, CredentialUse, EffectiveEntry, SubscriptionUse};
use crate::error::AppError;
use crate::ssr::{service_error, PortalServices};
use crate::ssr_portal::admin_actor;

/// Names for the ids a change set holds.
#[derive(Default)]
pub struct ChangeNames {
    pub apis: HashMap<String, String>,
    pub organisations: HashMap<String, String>,
    pub products: HashMap<String, String>,
    pub apps: HashMap<String, String>,
    pub certificates: HashMap<String, String>,
}

fn name<'a>(map: &'a HashMap<String, String>, id: &'a str) -> &'a str {
    map.get(id).map(String::as_str).unwrap_or(id)
}

/// "a", "a and b", "a, b and c".
fn listing(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The names of `ids`, in alphabetical order, as a listing.
fn sorted_names(map: &HashMap<String, String>, ids: &[String]) -> String {
    let mut names: Vec<String> = ids.iter().map(|id| name(map, id).to_string()).collect();
    names.sort_by_key(|n| n.to_lowercase());
    listing(&names)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

fn minus(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

/// What happens to one credential, as the end of a sentence ("will only accept …").
fn credential_sentence(before: Option<&GrantSummary>, after: Option<&GrantSummary>, names: &ChangeNames) -> String {
    let certificates = |ids: &[String]| sorted_names(&names.certificates, ids);
    let apis = |ids: &[String]| sorted_names(&names.apis, ids);
    let (b, a) = match (before, after) {
        (None, None) => return "will not change".into(),
        (Some(_), None) => return "will stop working: they grant nothing any more".into(),
        (None, Some(a)) => return format!("will start working, for {}", apis(&a.apis)),
        (Some(b), Some(a)) => (b, a),
    };
    let mut parts = Vec::new();
    let (gained_apis, lost_apis) = (minus(&a.apis, &b.apis), minus(&b.apis, &a.apis));
    if !gained_apis.is_empty() {
        parts.push(format!("will also grant API {}", apis(&gained_apis)));
    }
    if !lost_apis.is_empty() {
        parts.push(format!("will no longer grant API {}", apis(&lost_apis)));
    }
    let (gained, lost) = (minus(&a.certificates, &b.certificates), minus(&b.certificates, &a.certificates));
    let changes_certificates = !gained.is_empty() || !lost.is_empty();
    if a.certificates.is_empty() && !b.certificates.is_empty() {
        parts.push("will accept no certificate any more, so they stop working".into());
    } else if changes_certificates || a.bound != b.bound {
        let these = match a.certificates.len() {
            1 => format!("this certificate: {}", certificates(&a.certificates)),
            n => format!("these {n} certificates: {}", certificates(&a.certificates)),
        };
        let mut sentence = if a.bound {
            format!("will only accept {these}")
        } else if b.bound {
            format!("will no longer be bound: their token works with any certificate the API admits, not only {}", certificates(&a.certificates))
        } else {
            format!("will work with {these}")
        };
        let mut delta = Vec::new();
        if !gained.is_empty() && !b.certificates.is_empty() {
            delta.push(format!("adds {}", certificates(&gained)));
        }
        if !lost.is_empty() {
            delta.push(format!("drops {}", certificates(&lost)));
        }
        if !delta.is_empty() {
            sentence.push_str(&format!(" ({})", delta.join("; ")));
        }
        parts.push(sentence);
    }
    if parts.is_empty() {
        "will change".into()
    } else {
        parts.join("; ")
    }
}

/// Credentials of one organisation that change alike.
#[derive(Default)]
struct Group {
    count: usize,
    apps: BTreeSet<String>,
    products: BTreeSet<String>,
}

/// A dry run's change set in words (pure: names are given).
pub fn words(preview: &ChangePreview, names: &ChangeNames) -> ChangeWords {
    // Credentials that change alike in one organisation are said once, with their count.
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for change in &preview.credentials {
        let sentence = credential_sentence(change.before.as_ref(), change.after.as_ref(), names);
        let organisation = name(&names.organisations, &change.organisation).to_string();
        let group = groups.entry((organisation, sentence)).or_default();
        group.count += 1;
        group.apps.insert(name(&names.apps, &change.app).to_string());
        group.products.insert(name(&names.products, &change.product).to_string());
    }
    let credentials = groups
        .into_iter()
        .map(|((organisation, sentence), Group { count, apps, products })| {
            let apps: Vec<String> = apps.into_iter().collect();
            let products: Vec<String> = products.into_iter().collect();
            format!(
                "{} of {organisation} ({} {}; {} {}) {sentence}.",
                plural(count, "credential", "credentials"),
                if apps.len() == 1 { "app" } else { "apps" },
                listing(&apps),
                if products.len() == 1 { "product" } else { "products" },
                listing(&products),
            )
        })
        .collect();
    let allow_lists = preview
        .allow_lists
        .iter()
        .map(|change| {
            let label = |ids: &[String]| sorted_names(&names.certificates, ids);
            let mut parts = Vec::new();
            if !change.joining.is_empty() {
                parts.push(format!("{} {} its allow list", label(&change.joining), if change.joining.len() == 1 { "joins" } else { "join" }));
            }
            if !change.leaving.is_empty() {
                parts.push(format!("{} {} it", label(&change.leaving), if change.leaving.len() == 1 { "leaves" } else { "leave" }));
            }
            format!("API {}: {}.", name(&names.apis, &change.api), parts.join("; "))
        })
        .collect();
    let n = preview.credentials_stop_working;
    let warning = (n > 0).then(|| {
        format!(
            "{} stop{} working: {} no certificate (or no access) left, and the gateway refuses {} from the next request.",
            plural(n, "live credential", "live credentials"),
            if n == 1 { "s" } else { "" },
            if n == 1 { "it has" } else { "they have" },
            if n == 1 { "it" } else { "them" },
        )
    });
    ChangeWords { credentials, allow_lists, stop_working: n, warning }
}

/// Loads the names a change set needs, then says it in words.
pub async fn change_words(services: &PortalServices, actor: &Actor, preview: &ChangePreview) -> Result<ChangeWords, AppError> {
    let mut names = ChangeNames {
        apis: services.apis.list().await.map_err(service_error)?.into_iter().map(|a| (a.id, a.spec.name)).collect(),
        organisations: services.organisations.list().await.map_err(service_error)?.into_iter().map(|o| (o.id, o.name)).collect(),
        products: services.products.list().await.map_err(service_error)?.into_iter().map(|p| (p.id, p.spec.name)).collect(),
        ..ChangeNames::default()
    };
    let mut certificates: BTreeSet<&str> = BTreeSet::new();
    for change in &preview.credentials {
        if !names.apps.contains_key(&change.app) {
            let app = services.apps.get(actor, &change.app).await.map(|a| a.name).unwrap_or_else(|_| change.app.clone());
            names.apps.insert(change.app.clone(), app);
        }
        for grant in change.before.iter().chain(change.after.iter()) {
            certificates.extend(grant.certificates.iter().map(String::as_str));
        }
    }
    for change in &preview.allow_lists {
        certificates.extend(change.joining.iter().chain(change.leaving.iter()).map(String::as_str));
    }
    for id in certificates {
        let label = services.certificates.get(id).await.map(|c| c.label()).unwrap_or_else(|_| id.to_string());
        names.certificates.insert(id.to_string(), label);
    }
    Ok(words(preview, &names))
}

/// Names what was previewed: the same preview of the same input gives the same token, so a
/// confirmation applies only the change the admin saw.
pub fn confirm_token(preview: &ChangePreview, input: &impl serde::Serialize) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    serde_json::to_string(preview).unwrap_or_default().hash(&mut hasher);
    serde_json::to_string(input).unwrap_or_default().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Said when a confirmation arrives for a change that is no longer the one previewed.
pub const CHANGED_SINCE: &str =
    "The change is not the one you confirmed any more (the form or the data changed since the preview): check it below and confirm again.";

/// Reads what portal credentials grant now, from the services, by the same derivation the
/// gateway's view uses (core's `credential_grant`). Shared reads are cached.
pub struct GrantReader<'a> {
    services: &'a PortalServices,
    actor: Actor,
    now: i64,
    products: HashMap<String, Option<ProductTerms>>,
    /// Organisation -> (its linked certificates that fit a credential, suspended).
    organisations: HashMap<String, (Vec<String>, bool)>,
    /// App -> its credentials.
    credentials: HashMap<String, Vec<CredentialRecord>>,
    app_names: HashMap<String, String>,
}

impl<'a> GrantReader<'a> {
    pub fn new(services: &'a PortalServices, actor: Actor) -> GrantReader<'a> {
        GrantReader {
            services,
            actor,
            now: clock::now(),
            products: HashMap::new(),
            organisations: HashMap::new(),
            credentials: HashMap::new(),
            app_names: HashMap::new(),
        }
    }

    async fn terms(&mut self, product: &str) -> Option<ProductTerms> {
        if !self.products.contains_key(product) {
            // A product that no longer checks grants nothing (as in the view).
            let terms = self.services.products.entry(product).await.ok().map(|e| ProductTerms {
                id: e.record.id.clone(),
                apis: e.record.spec.apis.clone(),
                auth: e.auth,
                mode: e.record.spec.certificate_mode,
                binding: e.record.spec.certificate_binding,
            });
            self.products.insert(product.to_string(), terms);
        }
        self.products.get(product).cloned().flatten()
    }

    async fn organisation(&mut self, id: &str) -> Result<(Vec<String>, bool), AppError> {
        if let Some(found) = self.organisations.get(id) {
            return Ok(found.clone());
        }
        let filter = CertificateFilter { organisation: Some(id.to_string()), ..CertificateFilter::default() };
        let linked = self.services.certificates.list(filter).await.map_err(service_error)?;
        let fitting = linked.iter().filter(|c| fits_credential(&c.record.facts)).map(|c| c.record.facts.id.clone()).collect();
        let suspended = match self.services.organisations.get(id).await {
            Ok(o) => o.suspended_at.is_some(),
            Err(ServiceError::NotFound { .. }) => true,
            Err(e) => return Err(service_error(e)),
        };
        self.organisations.insert(id.to_string(), (fitting, suspended));
        Ok(self.organisations.get(id).cloned().unwrap_or_default())
    }

    async fn credential(&mut self, subscription: &SubscriptionRecord) -> Result<Option<CredentialRecord>, AppError> {
        if !self.credentials.contains_key(&subscription.app) {
            let entries = match self.services.credentials.of_app(&self.actor, &subscription.app).await {
                Ok(entries) => entries.into_iter().map(|e| e.credential).collect(),
                Err(ServiceError::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(service_error(e)),
            };
            self.credentials.insert(subscription.app.clone(), entries);
        }
        Ok(self.credentials.get(&subscription.app).and_then(|list| list.iter().find(|c| c.id == subscription.credential)).cloned())
    }

    /// What the subscription's credential grants now, and its status; `None`: no credential,
    /// or it grants nothing (revoked, suspended organisation, JWT product).
    pub async fn grant(&mut self, subscription: &SubscriptionRecord) -> Result<Option<(CredentialGrant, CredentialStatus)>, AppError> {
        let Some(credential) = self.credential(subscription).await? else { return Ok(None) };
        let Some(product) = self.terms(&subscription.product).await else { return Ok(None) };
        let (organisation_certificates, suspended) = self.organisation(&subscription.organisation).await?;
        let inputs = CredentialInputs {
            subscription_id: &subscription.id,
            product: &product,
            rate: None,
            quota: None,
            revoked: credential.tokens.revoked_at.is_some(),
            organisation_suspended: suspended,
            organisation_certificates: &organisation_certificates,
            subscription_certificates: &subscription.certificates,
        };
        Ok(credential_grant(&inputs, self.now).ok().map(|grant| (grant, credential.tokens.status(self.now))))
    }

    pub async fn app_name(&mut self, id: &str) -> String {
        if let Some(name) = self.app_names.get(id) {
            return name.clone();
        }
        let name = self.services.apps.get(&self.actor, id).await.map(|a| a.name).unwrap_or_else(|_| id.to_string());
        self.app_names.insert(id.to_string(), name.clone());
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
    let mut reader = GrantReader::new(services, actor.clone());
    let mut usage = CertificateUses::default();
    let mut candidates: BTreeMap<String, SubscriptionRecord> = BTreeMap::new();
    for user in &entry.used_by {
        match user.kind.as_str() {
            "api" => usage.api_entries.push(Named { id: user.id.clone(), name: user.name.clone() }),
            "key" => usage.keys.push(user.id.clone()),
            "subscription" => {
                let Ok(s) = services.subscriptions.get(&actor, &user.id).await else { continue };
                usage.subscriptions.push(SubscriptionUse {
                    id: s.id.clone(),
                    app: reader.app_name(&s.app).await,
                    organisation: name(&organisations, &s.organisation).to_string(),
                    product: name(&products, &s.product).to_string(),
                    plan: name(&plans, &s.plan).to_string(),
                    retire_by: s.certificates.iter().find(|c| c.id == id).and_then(|c| c.retire_by).map(clock::rfc3339),
                });
                candidates.insert(s.id.clone(), s);
            }
            _ => {}
        }
    }
    for organisation in &entry.meta.organisation_ids {
        let filter = SubscriptionFilter { organisation: Some(organisation.clone()), ..SubscriptionFilter::default() };
        for s in all_subscriptions(services, &actor, filter).await? {
            candidates.insert(s.id.clone(), s);
        }
    }
    for s in candidates.values() {
        let Some((grant, status)) = reader.grant(s).await? else { continue };
        if !grant.certificates.contains(&id) {
            continue;
        }
        usage.credentials.push(CredentialUse {
            id: s.credential.clone(),
            app: reader.app_name(&s.app).await,
            organisation: name(&organisations, &s.organisation).to_string(),
            product: name(&products, &s.product).to_string(),
            status: status_name(status).to_string(),
            bound: grant.bound,
            apis: grant.apis.iter().map(|a| name(&apis, a).to_string()).collect(),
        });
    }
    Ok(usage)
}

const ALLOW_LIST_PAGE: usize = 20;
/// Sources listed per entry; the rest are counted.
const SOURCES_SHOWN: usize = 10;

/// An API's effective allow list (the admin's entries and what live portal credentials of the
/// products containing it contribute), with the source of each entry, one page of it.
pub async fn effective_allow_list(services: &PortalServices, admin: &ActiveSession, api_id: &str, page: usize) -> Result<AllowListPage, AppError> {
    let actor = admin_actor(admin);
    let api = services.apis.get(api_id).await.map_err(service_error)?;
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in &api.spec.mtls.allowed_certificates {
        sources.entry(id.clone()).or_default().push("Admin entry on this API".into());
    }
    let organisations = names_by_id(services.organisations.list().await.map_err(service_error)?, |o| (o.id, o.name));
    let mut reader = GrantReader::new(services, actor.clone());
    for product in services.products.list().await.map_err(service_error)? {
        if !product.spec.apis.contains(&api.id) {
            continue;
        }
        let filter = SubscriptionFilter { product: Some(product.id.clone()), ..SubscriptionFilter::default() };
        for s in all_subscriptions(services, &actor, filter).await? {
            let Some((grant, _)) = reader.grant(&s).await? else { continue };
            if !grant.apis.contains(&api.id) {
                continue;
            }
            let source = format!("Product {} → app {} → {}", product.spec.name, reader.app_name(&s.app).await, name(&organisations, &s.organisation));
            for certificate in grant.certificates {
                sources.entry(certificate).or_default().push(source.clone());
            }
        }
    }
    let store: HashMap<String, CertificateEntry> =
        services.certificates.list(CertificateFilter::default()).await.map_err(service_error)?.into_iter().map(|c| (c.record.facts.id.clone(), c)).collect();
    let now = clock::now();
    let mut entries: Vec<EffectiveEntry> = sources
        .into_iter()
        .map(|(id, mut sources)| {
            let found = store.get(&id);
            let more = sources.len().saturating_sub(SOURCES_SHOWN);
            sources.truncate(SOURCES_SHOWN);
            if more > 0 {
                sources.push(format!("and {more} more"));
            }
            EffectiveEntry {
                label: found.map(CertificateEntry::label).unwrap_or_else(|| format!("{id} (not in the store)")),
                fingerprint_short: pki::colon_fingerprint(&id).chars().take(23).collect(),
                kind: found.map(|c| if c.record.facts.is_ca { "ca" } else { "leaf" }).unwrap_or("leaf").to_string(),
                problem: found.and_then(|c| (!c.record.facts.is_ca).then(|| pki::client_auth_problem(&c.record.facts, now)).flatten()).map(|p| p.code().to_string()),
                id,
                sources,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.label.to_lowercase().cmp(&b.label.to_lowercase()).then_with(|| a.id.cmp(&b.id)));
    let total = entries.len();
    let pages = total.div_ceil(ALLOW_LIST_PAGE).max(1);
    let page = page.clamp(1, pages);
    let entries = entries.into_iter().skip((page - 1) * ALLOW_LIST_PAGE).take(ALLOW_LIST_PAGE).collect();
    Ok(AllowListPage { entries, total, page, pages, mtls_required: api.spec.mtls.required })
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

async fn product_view(services: &PortalServices, id: &str) -> Result<ProductView, AppError> {
    let mut views = crate::ssr_portal::product_views(services, Some(id)).await?;
    views.pop().ok_or_else(|| AppError::new("internal", "The product could not be read back."))
}

/// Saves a product's new definition. A change that alters live credentials or allow lists is
/// previewed first (a dry run) and applied only when `confirm` names that same change.
pub async fn save_product(
    services: &PortalServices,
    admin: &ActiveSession,
    id: &str,
    spec: ProductSpec,
    confirm: Option<&str>,
) -> Result<Previewed<ProductView>, AppError> {
    let actor = admin_actor(admin);
    let (_, preview) = services.products.update_previewed(id, spec.clone(), &admin.user.id, true).await.map_err(service_error)?;
    let change = change_words(services, &actor, &preview).await?;
    let token = confirm_token(&preview, &spec);
    if change.is_empty() || confirm == Some(token.as_str()) {
        // The answer says what the write did (the same as the preview unless another write
        // came in between).
        let (_, done) = services.products.update_previewed(id, spec, &admin.user.id, false).await.map_err(service_error)?;
        let change = if done == preview { change } else { change_words(services, &actor, &done).await? };
        tracing::info!(admin = %admin.user.id, product = %id, "product saved");
        return Ok(Previewed { applied: true, value: product_view(services, id).await?, change, confirm: None, note: None, target: None });
    }
    let note = confirm.filter(|c| !c.is_empty()).map(|_| CHANGED_SINCE.to_string());
    Ok(Previewed { applied: false, value: product_view(services, id).await?, change, confirm: Some(token), note, target: None })
}

/// Links (`link`) or unlinks a certificate and an organisation. A change that alters live
/// credentials or allow lists is previewed first and applied only when `confirm` names it.
pub async fn relink_certificate(
    services: &PortalServices,
    admin: &ActiveSession,
    id: &str,
    organisation: &str,
    link: bool,
    confirm: Option<&str>,
) -> Result<Previewed<CertificateView>, AppError> {
    let actor = admin_actor(admin);
    let entry = services.certificates.get(id).await.map_err(service_error)?;
    let mut organisations = entry.meta.organisation_ids.clone();
    if link {
        // The preview refuses an unknown organisation as bad input; the link says 404.
        services.organisations.get(organisation).await.map_err(service_error)?;
        organisations.insert(organisation.to_string());
    } else {
        organisations.remove(organisation);
    }
    let organisations: Vec<String> = organisations.into_iter().collect();
    let (_, preview) =
        services.certificates.update_portal_previewed(id, None, Some(organisations.clone()), &admin.user.id, true).await.map_err(service_error)?;
    let change = change_words(services, &actor, &preview).await?;
    let token = confirm_token(&preview, &organisations);
    if change.is_empty() || confirm == Some(token.as_str()) {
        let entry = if link {
            services.certificates.link_organisation(id, organisation, &admin.user.id).await
        } else {
            services.certificates.unlink_organisation(id, organisation, &admin.user.id).await
        }
        .map_err(service_error)?;
        tracing::info!(admin = %admin.user.id, certificate = %id, organisation = %organisation, link, "certificate link changed");
        return Ok(Previewed { applied: true, value: crate::ssr::certificate_view(&entry), change, confirm: None, note: None, target: Some(organisation.to_string()) });
    }
    let note = confirm.filter(|c| !c.is_empty()).map(|_| CHANGED_SINCE.to_string());
    Ok(Previewed { applied: false, value: crate::ssr::certificate_view(&entry), change, confirm: Some(token), note, target: Some(organisation.to_string()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use certgate_services::store::changes::{AllowListChange, CredentialChange};

    fn grant(certificates: &[&str], bound: bool) -> GrantSummary {
        GrantSummary { apis: vec!["api_1".into()], certificates: certificates.iter().map(|c| c.to_string()).collect(), bound }
    }

    fn change(n: usize, app: &str, before: GrantSummary, after: GrantSummary) -> CredentialChange {
        CredentialChange {
            credential: format!("crd_{n}"),
            subscription: format!("sub_{n}"),
            app: app.into(),
            organisation: "org_acme".into(),
            product: "prd_pay".into(),
            before: Some(before),
            after: Some(after),
        }
    }

    fn names() -> ChangeNames {
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        ChangeNames {
            apis: map(&[("api_1", "Shop API")]),
            organisations: map(&[("org_acme", "Acme Corp")]),
            products: map(&[("prd_pay", "Payments")]),
            apps: map(&[("app_1", "Checkout"), ("app_2", "Billing"), ("app_3", "Reports")]),
            certificates: map(&[("c1", "acme-one"), ("c2", "acme-two"), ("c3", "acme-three")]),
        }
    }

    #[test]
    fn credentials_changed_alike_are_counted_once_with_names() {
        let preview = ChangePreview {
            credentials: (1..=3).map(|n| change(n, &format!("app_{n}"), grant(&["c1", "c2", "c3"], false), grant(&["c1", "c2"], true))).collect(),
            allow_lists: vec![AllowListChange { api: "api_1".into(), joining: vec![], leaving: vec!["c3".into()] }],
            credentials_stop_working: 0,
        };
        let said = words(&preview, &names());
        assert_eq!(said.credentials.len(), 1, "{said:?}");
        let line = &said.credentials[0];
        assert!(line.starts_with("3 credentials of Acme Corp (apps Billing, Checkout and Reports; product Payments)"), "{line}");
        assert!(line.contains("will only accept these 2 certificates: acme-one and acme-two (drops acme-three)"), "{line}");
        assert!(!line.contains("org_") && !line.contains("app_") && !line.contains("c1"), "ids in {line}");
        assert_eq!(said.allow_lists, vec!["API Shop API: acme-three leaves it.".to_string()]);
        assert!(said.warning.is_none() && !said.is_empty());
    }

    #[test]
    fn losing_the_last_certificate_warns_that_credentials_stop_working() {
        let preview = ChangePreview {
            credentials: vec![change(1, "app_1", grant(&["c1"], true), grant(&[], true))],
            allow_lists: vec![AllowListChange { api: "api_1".into(), joining: vec![], leaving: vec!["c1".into()] }],
            credentials_stop_working: 1,
        };
        let said = words(&preview, &names());
        assert!(said.credentials[0].contains("1 credential of Acme Corp (app Checkout; product Payments) will accept no certificate any more"), "{said:?}");
        assert!(said.warning.as_deref().unwrap().starts_with("1 live credential stops working"), "{said:?}");
        let joined = ChangePreview {
            credentials: vec![change(1, "app_1", grant(&["c1"], true), grant(&["c1", "c2"], true))],
            allow_lists: vec![AllowListChange { api: "api_1".into(), joining: vec!["c2".into()], leaving: vec![] }],
            credentials_stop_working: 0,
        };
        let said = words(&joined, &names());
        assert!(said.credentials[0].contains("will only accept these 2 certificates: acme-one and acme-two (adds acme-two)"), "{said:?}");
        assert_eq!(said.allow_lists[0], "API Shop API: acme-two joins its allow list.");
        assert!(words(&ChangePreview::default(), &names()).is_empty());
    }

    #[test]
    fn actions_read_as_words() {
        assert_eq!(action_words("credential.revoked"), "Credential revoked");
        assert_eq!(action_words("user.invite_link_issued"), "User invite link issued");
        let f = audit_filter(Some(" ".into()), Some("org_1".into()), None);
        assert_eq!((f.actor, f.organisation.as_deref(), f.kind), (None, Some("org_1"), None));
    }
}
