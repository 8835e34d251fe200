//! Server-side glue for the UI: who is asking, which services to call, and how a service error
//! becomes an HTTP status, code and message (the one mapping, used by the REST API too).

use certgate_core::problem::Problem;
use certgate_core::pki;
use certgate_services::accounts::{Accounts, Role, UserRecord};
use certgate_services::apis::Apis;
use certgate_services::keys::Keys;
use certgate_services::certificates::{CertificateEntry, CertificateFilter, CertificateKind, Certificates};
use certgate_services::organisations::{OrganisationRecord, Organisations};
use certgate_services::plans::Plans;
use certgate_services::products::Products;
use certgate_services::sessions::{ActiveSession, Sessions};
use certgate_services::ServiceError;
use http::header::{HeaderValue, ACCEPT, RETRY_AFTER, SET_COOKIE};
use http::StatusCode;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::api::apis::{AllowedEntry, ApiDetail, ApiSummary, JwtSummary};
use certgate_core::gateway::spec::{ApiSpec, AuthKind, JwtKeySpec, JwtSpec};
use certgate_services::apis::ApiRecord;
use crate::api::certificates::{AltNameView, CertificateQuery, CertificateView, OrganisationRef};
use crate::api::{Me, OrganisationView};
use crate::error::AppError;

/// The services the portal calls. The server puts one in every request's extensions.
#[derive(Clone)]
pub struct PortalServices {
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub organisations: Organisations,
    pub certificates: Certificates,
    pub apis: Apis,
    pub keys: Keys,
    pub plans: Plans,
    pub products: Products,
    pub apps: certgate_services::portal::apps::Apps,
    pub access_requests: certgate_services::portal::requests::AccessRequests,
    pub credentials: certgate_services::portal::credentials::Credentials,
    pub subscriptions: certgate_services::portal::subscriptions::Subscriptions,
    pub catalogue: certgate_services::portal::catalogue::Catalogue,
    pub overview: certgate_services::portal::overview::Overview,
    pub audit: certgate_services::audit::AuditLog,
    pub webhooks: certgate_services::webhooks::Webhooks,
    pub dashboard: certgate_services::dashboard::Dashboard,
}

/// The gateway's traffic series and certificates' last use, put in every portal request by the
/// server (like the quota reader): pages and server functions read it, never the gateway.
#[derive(Clone)]
pub struct TrafficReader(pub std::sync::Arc<dyn certgate_core::traffic::TrafficSource>);

/// The traffic reader of the current request, if the server put one in.
pub fn traffic() -> Option<TrafficReader> {
    request_parts().and_then(|p| p.extensions.get::<TrafficReader>().cloned())
}

/// The gateway's live state of the current request, if the server put it in (the dashboard
/// counts its live credentials).
pub fn gateway_state() -> Option<certgate_services::gateway_view::SharedState> {
    request_parts().and_then(|p| p.extensions.get::<certgate_services::gateway_view::SharedState>().cloned())
}

/// Who sent a request, resolved once by the server's middleware and put in its extensions.
#[derive(Clone, Debug)]
pub struct RequestAuth {
    pub session: Option<ActiveSession>,
    /// The TCP peer's address: the key for per-address sign-in throttling.
    pub client_address: String,
    /// The portal is served over TLS: cookies get `Secure` and the `__Host-` prefix.
    pub secure: bool,
}

/// The session cookie's name: `__Host-` binds it to this exact origin when served over TLS.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-certgate_session"
    } else {
        "certgate_session"
    }
}

fn request_parts() -> Option<http::request::Parts> {
    use_context::<http::request::Parts>()
}

pub fn request_auth() -> RequestAuth {
    request_parts().and_then(|p| p.extensions.get::<RequestAuth>().cloned()).unwrap_or(RequestAuth {
        session: None,
        client_address: "unknown".into(),
        secure: false,
    })
}

pub fn services() -> Result<PortalServices, AppError> {
    request_parts()
        .and_then(|p| p.extensions.get::<PortalServices>().cloned())
        .ok_or_else(|| {
            set_status(500);
            AppError::new("internal", "The portal's services are not available.")
        })
}

/// Sets the status of a server function's own response. While a page renders, server functions
/// are called in-process and must not change the page's status, so this does nothing then.
/// Nor for a plain HTML form post (no wasm): Leptos answers it with a 302 back to the page, the
/// error in the address, and a status set here would replace the 302 (the browser would show
/// the error's JSON instead of the page).
pub fn set_status(status: u16) {
    let is_server_fn_call = request_parts().is_some_and(|p| p.uri.path().starts_with("/fn/"));
    if is_server_fn_call && !is_plain_form_post() {
        set_response_status(status);
    }
}

/// Whether this server-function call is a plain HTML form post (islands mode: every form
/// outside an island), which the browser follows to the next page.
pub fn is_plain_form_post() -> bool {
    request_parts().is_some_and(|p| accepts_html(&p.headers))
}

/// A request the browser itself makes (a page, a plain form post), not a script's call.
pub fn accepts_html(headers: &http::HeaderMap) -> bool {
    headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// The path and query of an absolute address (`http://h/p?q` → `/p?q`; a Referer).
pub fn page_of(url: &str) -> Option<&str> {
    let after_scheme = url.get(url.find("://")? + 3..)?;
    after_scheme.find('/').and_then(|at| after_scheme.get(at..))
}

/// After a plain form post that worked, the browser goes to `location` instead of back to the
/// page (a new resource's own list entry, `?created=<id>`). A call from a script is answered
/// with the value only.
pub fn go_after_form_post(location: &str) {
    if is_plain_form_post() {
        leptos_axum::redirect(location);
    }
}

/// Refuses a plain form post (no wasm) to a function whose answer only the page's island can
/// show (a secret shown once): made without it, the secret would be shown nowhere.
pub fn require_script(what: &str) -> Result<(), AppError> {
    if is_plain_form_post() {
        set_status(400);
        return Err(AppError::new(
            "needs_javascript",
            format!("{what} is shown in the page only, once: this needs JavaScript. Turn it on, reload the page and try again."),
        ));
    }
    Ok(())
}

/// The answer of a write that is previewed first (`Previewed`). Applied: the page it was made
/// on is loaded again, saying so (`?__ok=<function>`; the wasm client follows the redirect too).
/// Only previewed, a plain form post is refused: its preview would be shown nowhere.
pub fn previewed<T>(answer: crate::api::changes::Previewed<T>, function_path: &str) -> Result<crate::api::changes::Previewed<T>, AppError> {
    if answer.applied {
        let referer = request_parts().and_then(|p| p.headers.get(http::header::REFERER).and_then(|v| v.to_str().ok()).map(str::to_string));
        let page = safe_next(referer.as_deref().and_then(page_of), "/");
        let separator = if page.contains('?') { '&' } else { '?' };
        leptos_axum::redirect(&format!("{page}{separator}__ok={}", query_value(function_path)));
        return Ok(answer);
    }
    if is_plain_form_post() {
        set_status(409);
        return Err(AppError::new(
            "confirmation_needed",
            "This change alters live credentials: it is shown before it is applied, which needs JavaScript. Turn it on, save again and confirm.",
        ));
    }
    Ok(answer)
}

/// Sets the status of the current response (a page's, or a server function's).
pub fn set_response_status(status: u16) {
    if let Some(options) = use_context::<ResponseOptions>() {
        options.set_status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    }
}

pub fn require_user(auth: &RequestAuth) -> Result<ActiveSession, AppError> {
    auth.session.clone().ok_or_else(|| {
        set_status(401);
        AppError::new("unauthenticated", "Sign in to continue.")
    })
}

pub fn require_admin(auth: &RequestAuth) -> Result<ActiveSession, AppError> {
    let session = require_user(auth)?;
    if session.user.role != Role::Admin {
        set_status(403);
        return Err(AppError::new("forbidden", "This needs an administrator."));
    }
    Ok(session)
}

/// THE mapping from a service error to HTTP: status, stable code, human message.
pub fn problem_for(error: &ServiceError) -> Problem {
    match error {
        ServiceError::Invalid { code, message } => Problem::new(400, code, "Invalid request", Some(message.clone())),
        ServiceError::NotFound { what } => {
            Problem::new(404, "not_found", "Not found", Some(format!("No such {what}.")))
        }
        ServiceError::Conflict { code, message } => Problem::new(409, code, "Conflict", Some(message.clone())),
        ServiceError::Forbidden { message } => Problem::new(403, "forbidden", "Forbidden", Some(message.clone())),
        ServiceError::BadCredentials => {
            Problem::new(401, "bad_credentials", "Sign-in failed", Some("Wrong email or password.".into()))
        }
        ServiceError::Throttled { retry_after_secs } => Problem::new(
            429,
            "too_many_attempts",
            "Too many attempts",
            Some(format!("Too many attempts. Try again in {} minute(s).", (retry_after_secs + 59) / 60)),
        ),
        ServiceError::Store(_) | ServiceError::Internal(_) => {
            // The cause goes to the log, not to the client.
            tracing::error!(error = %error, "internal error");
            Problem::new(500, "internal", "Internal error", Some("Something went wrong on the server.".into()))
        }
    }
}

/// Converts a service error for a server function: sets the status (and Retry-After).
pub fn service_error(error: ServiceError) -> AppError {
    let problem = problem_for(&error);
    set_status(problem.status);
    if let (ServiceError::Throttled { retry_after_secs }, Some(options)) = (&error, use_context::<ResponseOptions>()) {
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            options.insert_header(RETRY_AFTER, v);
        }
    }
    AppError::new(&problem.code, problem.detail.unwrap_or(problem.title))
}

/// The `Set-Cookie` value that starts a session (shared by the server functions and REST).
pub fn session_cookie(secret: &str, secure: bool) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{}={secret}; Path=/; HttpOnly; SameSite=Lax{flag}", session_cookie_name(secure))
}

/// The `Set-Cookie` value that ends a session.
pub fn cleared_session_cookie(secure: bool) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{flag}", session_cookie_name(secure))
}

pub fn set_session_cookie(secret: &str, auth: &RequestAuth) {
    set_cookie_header(&session_cookie(secret, auth.secure));
}

pub fn clear_session_cookie(auth: &RequestAuth) {
    set_cookie_header(&cleared_session_cookie(auth.secure));
}

fn set_cookie_header(cookie: &str) {
    if let (Some(options), Ok(value)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(cookie)) {
        options.append_header(SET_COOKIE, value);
    }
}

/// `text` as one query-string value (all but RFC 3986 unreserved characters percent-encoded).
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after sign-in: only a local path, never another origin (`//evil`, `/\evil`).
/// No control character at all: browsers drop tabs and newlines from a URL, so `/\t/evil`
/// would be `//evil`.
pub fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.chars().any(char::is_control) => without_notices(n),
        _ => fallback.to_string(),
    }
}

/// Query keys a page reads as notices (server/src/form_posts.rs signs the ones a server function
/// sets, with `NOTICE_MARK`). An address that came with the request must not carry them into a
/// redirect, where they would be signed as the function's own.
pub const NOTICES: [&str; 6] = ["__ok", "__path", "__err", "created", "added", "deleted"];
/// The key of the notices' signature.
pub const NOTICE_MARK: &str = "__mark";

/// `address` without its notices (keys compared decoded).
pub fn without_notices(address: &str) -> String {
    let Some((path, query)) = address.split_once('?') else { return address.to_string() };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| form_urlencoded::parse(pair.as_bytes()).next().is_none_or(|(key, _)| !NOTICES.contains(&key.as_ref()) && key != NOTICE_MARK))
        .collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

pub fn me(user: &UserRecord, organisation: Option<String>) -> Me {
    Me {
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        is_admin: user.role == Role::Admin,
        organisation,
    }
}

pub fn organisation_view(org: OrganisationRecord) -> OrganisationView {
    OrganisationView { suspended: org.suspended_at.is_some(), id: org.id, name: org.name, created_at: org.created_at }
}

/// The filter the services understand, from the query the UI and REST API send.
pub fn certificate_filter(query: CertificateQuery) -> Result<CertificateFilter, AppError> {
    let kind = match query.kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("ca") => Some(CertificateKind::Ca),
        Some("leaf") => Some(CertificateKind::Leaf),
        Some(_) => {
            set_status(400);
            return Err(AppError::new("invalid_filter", "kind must be `ca` or `leaf`."));
        }
    };
    if query.expiring_within_days.is_some_and(|d| !(0..=36_500).contains(&d)) {
        set_status(400);
        return Err(AppError::new("invalid_filter", "expiring_within_days must be between 0 and 36500."));
    }
    Ok(CertificateFilter {
        organisation: query.organisation.filter(|o| !o.trim().is_empty()),
        expiring_within_days: query.expiring_within_days,
        kind,
        q: query.q,
        ..CertificateFilter::default()
    })
}

/// The stable code of a client-certificate problem, as the UI shows it.
fn client_problem_code(problem: pki::ClientCertificateProblem) -> &'static str {
    problem.code()
}

/// A stored certificate as the UI and the REST API show it, at the current time.
pub fn certificate_view(entry: &CertificateEntry) -> CertificateView {
    use certgate_services::clock;
    let facts = &entry.record.facts;
    let now = clock::now();
    let problem = pki::client_auth_problem(facts, now).map(client_problem_code);
    CertificateView {
        id: facts.id.clone(),
        fingerprint_sha256: pki::colon_fingerprint(&facts.id),
        x5t_s256: facts.x5t_s256.clone(),
        spki_sha256: facts.spki_sha256.clone(),
        label: entry.label(),
        display_name: entry.meta.display_name.clone(),
        subject: facts.subject.clone(),
        subject_common_name: facts.subject_common_name.clone(),
        issuer: facts.issuer.clone(),
        serial: facts.serial.clone(),
        subject_alt_names: facts
            .subject_alt_names
            .iter()
            .map(|a| AltNameView { kind: a.kind.clone(), value: a.value.clone() })
            .collect(),
        not_before: clock::rfc3339(facts.not_before),
        not_after: clock::rfc3339(facts.not_after),
        not_after_unix: facts.not_after,
        validity: match pki::validity_at(facts, now) {
            pki::Validity::Valid => "valid",
            pki::Validity::Expired => "expired",
            pki::Validity::NotYetValid => "not_yet_valid",
        }
        .to_string(),
        days_left: (facts.not_after - now).div_euclid(86_400),
        kind: if facts.is_ca { "ca" } else { "leaf" }.to_string(),
        self_issued: facts.self_issued,
        key_algorithm: facts.key_algorithm.clone(),
        extended_key_usage: facts.extended_key_usage.clone(),
        client_auth_usable: problem.is_none(),
        client_auth_problem: problem.map(str::to_string),
        organisations: entry.organisations.iter().map(|o| OrganisationRef { id: o.id.clone(), name: o.name.clone() }).collect(),
        used_by: entry.used_by.iter().map(|u| match u.kind.as_str() {
            "api" => format!("API {}", u.name),
            "subscription" => format!("subscription {}", u.id),
            _ => format!("key {}", u.id),
        }).collect(),
        added_at: clock::rfc3339(entry.record.added_at),
        pem: entry.pem(),
    }
}

/// The list row of an API.
pub fn api_summary(record: &ApiRecord) -> ApiSummary {
    let spec = &record.spec;
    ApiSummary {
        id: record.id.clone(),
        name: spec.name.clone(),
        listen_path: spec.listen_path.clone(),
        upstream_url: spec.upstream_url.clone(),
        auth: auth_name(spec.auth).to_string(),
        mtls_required: spec.mtls.required,
        allowed_count: spec.mtls.allowed_certificates.len(),
    }
}

fn auth_name(auth: AuthKind) -> &'static str {
    match auth {
        AuthKind::AuthToken => "auth_token",
        AuthKind::Jwt => "jwt",
        AuthKind::None => "none",
    }
}

fn parse_auth(auth: &str) -> Result<AuthKind, AppError> {
    match auth {
        "auth_token" => Ok(AuthKind::AuthToken),
        "jwt" => Ok(AuthKind::Jwt),
        "none" => Ok(AuthKind::None),
        _ => {
            set_status(400);
            Err(AppError::new("invalid_auth", "Authentication must be Auth Token, JWT or none."))
        }
    }
}

/// The detail view of an API: its allow list labelled from the certificate store.
pub async fn api_detail(services: &PortalServices, record: &ApiRecord) -> Result<ApiDetail, AppError> {
    let now = certgate_services::clock::now();
    let mut allowed = Vec::new();
    for id in &record.spec.mtls.allowed_certificates {
        let entry = services.certificates.get(id).await.map_err(service_error)?;
        let facts = &entry.record.facts;
        allowed.push(AllowedEntry {
            id: facts.id.clone(),
            label: entry.label(),
            fingerprint_short: pki::colon_fingerprint(&facts.id).chars().take(23).collect(),
            kind: if facts.is_ca { "ca" } else { "leaf" }.to_string(),
            problem: if facts.is_ca { None } else { pki::client_auth_problem(facts, now).map(|p| client_problem_code(p).to_string()) },
        });
    }
    let jwt = record.spec.jwt.as_ref().map(|j| JwtSummary {
        algorithm: j.algorithms.join(", "),
        key_kind: if j.key.hmac_secret.is_some() {
            "hmac_secret"
        } else if j.key.jwks.is_some() {
            "jwks"
        } else {
            "public_key_pem"
        }
        .to_string(),
        issuer: j.issuer.clone(),
        audience: j.audience.clone(),
        identity_claim: j.identity_claim.clone(),
    });
    Ok(ApiDetail {
        gateway_url: format!("{}{}", crate::api::portal::server::gateway_origin(), record.spec.listen_path),
        summary: api_summary(record),
        strip_listen_path: record.spec.strip_listen_path,
        identity_header: record.spec.identity_header.clone(),
        allowed,
        jwt,
    })
}

/// A new API from the create form: everything else takes its default.
pub fn new_api_spec(name: String, listen_path: String, upstream_url: String, auth: &str, mtls_required: bool) -> Result<ApiSpec, AppError> {
    let auth = parse_auth(auth)?;
    if auth == AuthKind::Jwt {
        set_status(400);
        return Err(AppError::new(
            "jwt_settings_missing",
            "Create the API with Auth Token or none, then choose JWT on its page, where its key is set.",
        ));
    }
    let spec = serde_json::json!({
        "name": name, "listen_path": listen_path, "upstream_url": upstream_url, "auth": auth_name(auth),
        "mtls": {"required": mtls_required}
    });
    serde_json::from_value(spec).map_err(|e| {
        set_status(400);
        AppError::new("invalid_request", e.to_string())
    })
}

/// The settings form of an API's page.
pub struct ApiSettingsForm {
    pub name: String,
    pub listen_path: String,
    pub upstream_url: String,
    pub auth: String,
    pub mtls_required: bool,
    pub strip_listen_path: bool,
    pub identity_header: Option<String>,
    pub jwt_algorithm: Option<String>,
    pub jwt_key_kind: Option<String>,
    pub jwt_key: Option<String>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub jwt_identity_claim: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl ApiSettingsForm {
    /// Applies the form to a stored definition (the store then checks it as a whole).
    pub fn apply(self, spec: &mut ApiSpec) -> Result<(), ServiceError> {
        let auth = parse_auth(&self.auth).map_err(|e| ServiceError::invalid("invalid_auth", e.message))?;
        spec.name = self.name;
        spec.listen_path = self.listen_path;
        spec.upstream_url = self.upstream_url;
        spec.auth = auth;
        spec.mtls.required = self.mtls_required;
        spec.strip_listen_path = self.strip_listen_path;
        spec.identity_header = non_empty(self.identity_header);
        if auth != AuthKind::Jwt {
            spec.jwt = None;
            return Ok(());
        }
        let previous_key = spec.jwt.as_ref().map(|j| j.key.clone()).unwrap_or_default();
        let key = match (non_empty(self.jwt_key_kind).as_deref(), non_empty(self.jwt_key)) {
            // Blank key: keep the stored one (secrets are never shown, so the form cannot resend them).
            (_, None) => previous_key,
            (Some("hmac_secret"), Some(k)) => JwtKeySpec { hmac_secret: Some(k), ..Default::default() },
            (Some("jwks"), Some(k)) => {
                // The position only: serde's message quotes what it refuses (key material).
                let jwks = serde_json::from_str(&k).map_err(|e| {
                    ServiceError::invalid("invalid_jwt_settings", format!("The JWKS is not JSON (line {}, column {}).", e.line(), e.column()))
                })?;
                JwtKeySpec { jwks: Some(jwks), ..Default::default() }
            }
            (_, Some(k)) => JwtKeySpec { public_key_pem: Some(k), ..Default::default() },
        };
        let algorithm = non_empty(self.jwt_algorithm).unwrap_or_else(|| "RS256".into());
        spec.jwt = Some(JwtSpec {
            algorithms: vec![algorithm],
            key,
            issuer: non_empty(self.jwt_issuer),
            audience: non_empty(self.jwt_audience),
            identity_claim: non_empty(self.jwt_identity_claim).unwrap_or_else(|| "sub".into()),
            plan_claim: spec.jwt.as_ref().and_then(|j| j.plan_claim.clone()),
            leeway_seconds: spec.jwt.as_ref().map(|j| j.leeway_seconds).unwrap_or(30),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next(Some("/admin/x?y=1"), "/"), "/admin/x?y=1");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/a\r\nSet-Cookie: x", "/\t/evil.example", "/\u{b}/evil"] {
            assert_eq!(safe_next(Some(bad), "/home"), "/home", "{bad}");
        }
        assert_eq!(safe_next(None, "/home"), "/home");
        // Notices never ride along (they would be signed as the sign-in's own).
        assert_eq!(safe_next(Some("/signin?__path=%2Ffn%2Fsign_in&__err=eA&x=1&%5F%5Fok=y&deleted=z&__mark=1.a"), "/"), "/signin?x=1");
        assert_eq!(safe_next(Some("/account?__ok=%2Ffn%2Fchange_password"), "/"), "/account");
    }

    #[test]
    fn a_query_value_cannot_break_out_of_its_parameter() {
        assert_eq!(query_value("Acme & Co/1?x=#"), "Acme%20%26%20Co%2F1%3Fx%3D%23");
        assert_eq!(query_value("Ünïcode"), "%C3%9Cn%C3%AFcode");
    }

    #[test]
    fn every_service_error_has_a_status_and_code() {
        let cases = [
            (ServiceError::invalid("weak_password", "x"), 400, "weak_password"),
            (ServiceError::NotFound { what: "user" }, 404, "not_found"),
            (ServiceError::Conflict { code: "name_taken", message: "x".into() }, 409, "name_taken"),
            (ServiceError::BadCredentials, 401, "bad_credentials"),
            (ServiceError::Throttled { retry_after_secs: 61 }, 429, "too_many_attempts"),
            (ServiceError::Internal("secret detail".into()), 500, "internal"),
        ];
        for (error, status, code) in cases {
            let p = problem_for(&error);
            assert_eq!((p.status, p.code.as_str()), (status, code));
            assert!(!p.detail.unwrap_or_default().contains("secret detail"));
        }
    }
}
