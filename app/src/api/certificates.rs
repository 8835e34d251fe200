//! Certificates: the admin portal's facade over the provider's certificate store.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::changes::Previewed;
use crate::error::AppError;

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltNameView {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationRef {
    pub id: String,
    pub name: String,
}

/// A certificate as the portal and the REST API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// Lowercase hex SHA-256 of the DER.
    pub id: String,
    /// The same hash, colon-grouped uppercase (as openssl prints it).
    pub fingerprint_sha256: String,
    /// RFC 8705 `x5t#S256`.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
    pub spki_sha256: String,
    /// Portal name, or the subject's CN, or the subject.
    pub label: String,
    /// The portal-only display name, if one was set.
    pub display_name: Option<String>,
    pub subject: String,
    pub subject_common_name: Option<String>,
    pub issuer: String,
    pub serial: String,
    pub subject_alt_names: Vec<AltNameView>,
    pub not_before: String,
    pub not_after: String,
    pub not_after_unix: i64,
    /// `valid`, `expired` or `not_yet_valid`.
    pub validity: String,
    /// Whole days until expiry (negative once expired).
    pub days_left: i64,
    /// `ca` or `leaf`.
    pub kind: String,
    pub self_issued: bool,
    pub key_algorithm: String,
    /// `None`: no extendedKeyUsage extension (any usage).
    pub extended_key_usage: Option<Vec<String>>,
    /// Whether it can authenticate a client now, and if not, why.
    pub client_auth_usable: bool,
    pub client_auth_problem: Option<String>,
    pub organisations: Vec<OrganisationRef>,
    /// APIs and credentials that use it (filled once the gateway's allow lists exist).
    pub used_by: Vec<String>,
    pub added_at: String,
    pub pem: String,
}

/// Listing filters (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateQuery {
    pub organisation: Option<String>,
    pub expiring_within_days: Option<i64>,
    /// `ca` or `leaf`.
    pub kind: Option<String>,
    pub q: Option<String>,
}

#[server(prefix = "/fn", endpoint = "list_certificates")]
pub async fn list_certificates(
    organisation: Option<String>,
    expiring_within_days: Option<i64>,
    kind: Option<String>,
    q: Option<String>,
) -> Result<Vec<CertificateView>, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let filter = ssr::certificate_filter(CertificateQuery { organisation, expiring_within_days, kind, q })?;
    let entries = ssr::services()?.certificates.list(filter).await.map_err(ssr::service_error)?;
    Ok(entries.iter().map(ssr::certificate_view).collect())
}

#[server(prefix = "/fn", endpoint = "get_certificate")]
pub async fn get_certificate(id: String) -> Result<CertificateView, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let entry = ssr::services()?.certificates.get(&id).await.map_err(ssr::service_error)?;
    Ok(ssr::certificate_view(&entry))
}

/// Uploads one PEM certificate (pasted, or read from a file in the browser).
#[server(prefix = "/fn", endpoint = "upload_certificate")]
pub async fn upload_certificate(pem: String, display_name: Option<String>) -> Result<CertificateView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let certificates = ssr::services()?.certificates;
    let entry = certificates
        .add(pem.as_bytes(), certgate_core::pki::Encoding::Pem, &admin.user.id)
        .await
        .map_err(ssr::service_error)?;
    let id = entry.record.facts.id.clone();
    tracing::info!(admin = %admin.user.id, certificate = %id, "certificate uploaded");
    let entry = match display_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => certificates.set_display_name(&id, name, &admin.user.id).await.map_err(ssr::service_error)?,
        None => entry,
    };
    ssr::go_after_form_post(&format!("/admin/certificates?added={}", ssr::query_value(&id)));
    Ok(ssr::certificate_view(&entry))
}

#[server(prefix = "/fn", endpoint = "rename_certificate")]
pub async fn rename_certificate(id: String, display_name: String) -> Result<CertificateView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let entry = ssr::services()?
        .certificates
        .set_display_name(&id, &display_name, &admin.user.id)
        .await
        .map_err(ssr::service_error)?;
    Ok(ssr::certificate_view(&entry))
}

/// Links the certificate to an organisation. When that changes live credentials or allow
/// lists, the answer previews it and nothing changes; sent again with `confirm` it applies.
#[server(prefix = "/fn", endpoint = "link_certificate")]
pub async fn link_certificate(id: String, organisation_id: String, confirm: Option<String>) -> Result<Previewed<CertificateView>, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let answer = crate::ssr_changes::relink_certificate(&ssr::services()?, &admin, &id, &organisation_id, true, confirm.as_deref()).await?;
    ssr::previewed(answer, <LinkCertificate as leptos::server_fn::ServerFn>::PATH)
}

/// Unlinks the certificate from an organisation, previewed like a link.
#[server(prefix = "/fn", endpoint = "unlink_certificate")]
pub async fn unlink_certificate(id: String, organisation_id: String, confirm: Option<String>) -> Result<Previewed<CertificateView>, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let answer = crate::ssr_changes::relink_certificate(&ssr::services()?, &admin, &id, &organisation_id, false, confirm.as_deref()).await?;
    ssr::previewed(answer, <UnlinkCertificate as leptos::server_fn::ServerFn>::PATH)
}

/// Certificates on one page of the admin's list.
pub const PAGE_SIZE: usize = 50;
/// At most this many matches answer the allow-list editor's search.
pub const CHOICES: usize = 20;
/// Up to this many organisations, the list's organisation filter is a choice of all of them;
/// beyond, the page would grow with the store: the search matches organisation names instead.
pub const ORGANISATION_CHOICES: usize = 100;

/// One page of the admin's certificate list, and the expiry overview of the whole store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateListPage {
    /// This page's certificates, without their PEM (the detail page has it).
    pub rows: Vec<CertificateView>,
    /// Certificates matching the filters, on every page.
    pub total: usize,
    /// 1-based; a page past the end shows the last.
    pub page: usize,
    pub pages: usize,
    /// The whole store: expired, within 7 days, within 30 days, later.
    pub expired: usize,
    pub within_7: usize,
    pub within_30: usize,
    pub later: usize,
    /// Expiries per month over the next 12 months.
    pub months: Vec<usize>,
    /// The organisation filter's choices, by name: all of them up to
    /// [`ORGANISATION_CHOICES`], else only the chosen one.
    pub organisations: Vec<OrganisationRef>,
    /// Organisations in the store.
    pub organisations_total: usize,
    /// When this page's certificates last authenticated on any API, by id, as a time (absent:
    /// never since the gateway began recording).
    pub last_used: std::collections::BTreeMap<String, String>,
}

/// The admin's certificate list: `q` (label, subject, issuer, organisation name, or the start
/// of the fingerprint), `org` (an organisation id), `kind` (`ca`, `leaf`), `expiry`
/// (`expired`, `7d`, `30d`, `later`), `usable` (`yes`, `no`), `used` (`never`, `30d`: not in
/// the last 30 days), `sort` (`name`, `expiry`, `uploaded`, `last_used`), `page` (from 1). The
/// page's URL query holds the same names.
// One argument per field of the page's URL query, posted flat as the list's GET form sends them.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "certificate_list")]
pub async fn certificate_list(
    q: Option<String>,
    org: Option<String>,
    kind: Option<String>,
    expiry: Option<String>,
    usable: Option<String>,
    used: Option<String>,
    sort: Option<String>,
    page: Option<usize>,
) -> Result<CertificateListPage, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let mut filter = ssr::certificate_filter(CertificateQuery { organisation: org.clone(), expiring_within_days: None, kind, q })?;
    filter.expiry = list_filters::expiry(expiry.as_deref())?;
    filter.usable = list_filters::usable(usable.as_deref())?;
    filter.usage = list_filters::used(used.as_deref())?;
    let sort = list_filters::sort(sort.as_deref())?;
    if filter.usage.is_some() || sort == certgate_services::certificates::CertificateSort::LastUsed {
        filter.last_seen = crate::ssr_traffic::last_seen_map();
        if filter.last_seen.is_none() {
            ssr::set_status(400);
            return Err(AppError::new("traffic_off", "The gateway records no traffic (--traffic-series off): there is no last use to filter or sort by."));
        }
    }
    let services = ssr::services()?;
    let page = page.unwrap_or(1).max(1);
    let mut found = services.certificates.search(filter.clone(), sort, (page - 1) * PAGE_SIZE, PAGE_SIZE, true).await.map_err(ssr::service_error)?;
    let pages = found.total.div_ceil(PAGE_SIZE).max(1);
    if page > pages {
        // Past the end (a shared link after deletions): the last page.
        found = services.certificates.search(filter.clone(), sort, (pages - 1) * PAGE_SIZE, PAGE_SIZE, true).await.map_err(ssr::service_error)?;
    }
    let mut organisations = services.organisations.list().await.map_err(ssr::service_error)?;
    let organisations_total = organisations.len();
    if organisations_total > ORGANISATION_CHOICES {
        organisations.retain(|o| Some(&o.id) == org.as_ref());
    }
    let o = found.overview;
    // This page's last uses: from the filter's map when it has one, else asked per row (a
    // lookup per API each, not the whole last-seen table for 50 rows).
    let last_used = found
        .entries
        .iter()
        .filter_map(|e| {
            let id = &e.record.facts.id;
            let at = match &filter.last_seen {
                Some(seen) => seen.get(id).copied(),
                None => crate::ssr_traffic::last_use(id),
            }?;
            Some((id.clone(), crate::api::portal::server::time_text(at)))
        })
        .collect();
    Ok(CertificateListPage {
        last_used,
        rows: found.entries.iter().map(|e| CertificateView { pem: String::new(), ..ssr::certificate_view(e) }).collect(),
        total: found.total,
        page: page.min(pages),
        pages,
        expired: o.expired,
        within_7: o.within_7,
        within_30: o.within_30,
        later: o.later,
        months: o.months.to_vec(),
        organisations: organisations.into_iter().map(|o| OrganisationRef { id: o.id, name: o.name }).collect(),
        organisations_total,
    })
}

/// The allow-list editor's search: at most [`CHOICES`] certificates whose label, subject,
/// issuer or organisation contains `q` (or whose fingerprint starts with it), by name, leaving
/// out those already among the API's entries. An empty `q` finds nothing.
#[server(prefix = "/fn", endpoint = "allow_list_choices")]
pub async fn allow_list_choices(id: String, q: String) -> Result<Vec<CertificateView>, AppError> {
    use crate::ssr;
    use certgate_services::certificates::{CertificateFilter, CertificateSort};
    ssr::require_admin(&ssr::request_auth())?;
    let services = ssr::services()?;
    let api = services.apis.get(&id).await.map_err(ssr::service_error)?;
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let filter = CertificateFilter {
        q: Some(q.chars().take(200).collect()),
        exclude: api.spec.mtls.allowed_certificates.iter().cloned().collect(),
        ..CertificateFilter::default()
    };
    let found = services.certificates.search(filter, CertificateSort::Name, 0, CHOICES, false).await.map_err(ssr::service_error)?;
    Ok(found.entries.iter().map(|e| CertificateView { pem: String::new(), ..ssr::certificate_view(e) }).collect())
}

/// The list's query values, read strictly: an unknown value is a 400 naming the parameter.
#[cfg(feature = "ssr")]
pub mod list_filters {
    use certgate_services::certificates::{CertificateSort, ExpiryBucket, UsageFilter};

    use crate::error::AppError;

    fn invalid(message: &str) -> AppError {
        crate::ssr::set_status(400);
        AppError::new("invalid_filter", message)
    }

    fn value(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn expiry(v: Option<&str>) -> Result<Option<ExpiryBucket>, AppError> {
        Ok(match value(v) {
            None => None,
            Some("expired") => Some(ExpiryBucket::Expired),
            Some("7d") => Some(ExpiryBucket::Within7),
            Some("30d") => Some(ExpiryBucket::Within30),
            Some("later") => Some(ExpiryBucket::Later),
            Some(_) => return Err(invalid("expiry must be `expired`, `7d`, `30d` or `later`.")),
        })
    }

    pub fn usable(v: Option<&str>) -> Result<Option<bool>, AppError> {
        Ok(match value(v) {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(_) => return Err(invalid("usable must be `yes` or `no`.")),
        })
    }

    pub fn used(v: Option<&str>) -> Result<Option<UsageFilter>, AppError> {
        Ok(match value(v) {
            None => None,
            Some("never") => Some(UsageFilter::Never),
            Some("30d") => Some(UsageFilter::NotFor30Days),
            Some(_) => return Err(invalid("used must be `never` or `30d`.")),
        })
    }

    pub fn sort(v: Option<&str>) -> Result<CertificateSort, AppError> {
        Ok(match value(v) {
            None | Some("expiry") => CertificateSort::Expiry,
            Some("name") => CertificateSort::Name,
            Some("uploaded") => CertificateSort::Uploaded,
            Some("last_used") => CertificateSort::LastUsed,
            Some(_) => Err(invalid("sort must be `name`, `expiry`, `uploaded` or `last_used`."))?,
        })
    }
}
