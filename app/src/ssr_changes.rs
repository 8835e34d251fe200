//! A write's change to live credentials and allow lists, said in words with names (the
//! preview before the admin confirms a product change or a certificate link), and applying it
//! only when the confirmation names the change that was previewed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use certgate_core::portal::product::ProductSpec;
use certgate_services::portal::Actor;
use certgate_services::sessions::ActiveSession;
use certgate_services::store::changes::GrantSummary;
use certgate_services::store::ChangePreview;

use crate::api::certificates::CertificateView;
use crate::api::changes::{ChangeWords, Previewed};
use crate::api::products::ProductView;
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
}
