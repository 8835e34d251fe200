//! Middleware of the portal listener: access log, body limit, CSRF defence, session resolution
//! and the sign-in redirects of protected pages. Also the problem+json response helper.

use std::time::Instant;

use app::ssr::{session_cookie_name, RequestAuth};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use certgate_core::problem::{Problem, PROBLEM_JSON};
use certgate_gateway::listener::ConnectionInfo;

use crate::router::AppState;

/// Largest request body the portal accepts (uploads of certificates are far smaller).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// An oversized body up to this size is read and dropped before the 413 is sent.
const DRAIN_BEFORE_413_BYTES: usize = 1024 * 1024;

/// An RFC 9457 response.
pub fn problem(status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
    problem_response(&Problem::new(status.as_u16(), code, title, Some(detail.to_string())))
}

pub fn problem_response(p: &Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(p).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))], body).into_response()
}

/// One log line per request: method, path (never the query: it may carry secrets), status, time.
pub async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    if path.starts_with("/pkg/") || path == "/healthz" || path == "/readyz" {
        tracing::debug!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    response
}

/// Refuses bodies over [`MAX_BODY_BYTES`]: at once when Content-Length says so, and while
/// reading otherwise (the body is wrapped in a counting limit).
pub async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        // Read (and drop) a bounded amount first, like a lingering close: a client still
        // sending its body would otherwise lose the 413 to a connection reset.
        if declared.is_some_and(|n| n <= DRAIN_BEFORE_413_BYTES as u64) {
            let _ = axum::body::to_bytes(request.into_body(), DRAIN_BEFORE_413_BYTES).await;
        }
        return too_large();
    }
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES)));
    next.run(request).await
}

pub fn too_large() -> Response {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "Request body too large",
        &format!("The request body must be at most {} KiB.", MAX_BODY_BYTES / 1024),
    )
}

/// Resolves who is asking and enforces the portal's request rules:
/// 1. an `Authorization` header is only for the admin REST API (and `/metrics`), where the
///    bearer token is then the sole authentication: the session cookie is not even read.
///    Anywhere else (server functions, pages) it is refused: consumers use sessions only;
/// 2. a state change (any method but GET/HEAD/OPTIONS) authenticated by the cookie must come
///    from this origin (`Sec-Fetch-Site`, else `Origin`): Leptos has no CSRF defence, and
///    SameSite cookies do not separate ports of one host. A bearer request is exempt because
///    a browser never attaches the bearer on its own, and a junk one is 401 in `AdminCaller`;
/// 3. the session cookie is resolved to a user, put in the request for server functions;
/// 4. protected pages redirect to sign-in before any rendering starts.
pub async fn resolve_request(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let by_bearer = request.headers().contains_key(header::AUTHORIZATION);
    if by_bearer && !bearer_route(request.uri().path()) {
        tracing::warn!(path = %request.uri().path(), "Authorization header refused outside the admin REST API");
        return problem(
            StatusCode::UNAUTHORIZED,
            "bearer_not_accepted",
            "Bearer token not accepted",
            "The portal's pages and functions authenticate with the session cookie only; send no Authorization header.",
        );
    }
    let is_state_change = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if is_state_change && !by_bearer && !same_origin(request.headers(), state.secure) {
        tracing::warn!(path = %request.uri().path(), "cross-origin state change refused");
        return problem(
            StatusCode::FORBIDDEN,
            "cross_origin_refused",
            "Cross-origin request refused",
            "State-changing requests must come from the portal's own pages.",
        );
    }

    let session_cookie = if by_bearer { None } else { cookie(request.headers(), session_cookie_name(state.secure)) };
    let session = match session_cookie {
        Some(secret) => match state.services.sessions.resolve(&secret).await {
            Ok(session) => session,
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", "The session could not be checked.");
            }
        },
        None => None,
    };
    let client_address = request
        .extensions()
        .get::<ConnectionInfo>()
        .map(|c| c.peer.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string());

    let user_id = session.as_ref().map(|s| s.user.id.clone()).unwrap_or_default();
    if request.method() == Method::GET {
        // A notice in the address (`?__ok=`, `?__err=`…) is shown only when this server signed
        // it for this user (form_posts.rs): a crafted link loses it.
        if let Some(clean) = crate::form_posts::unsigned_notice_redirect(request.uri().path(), request.uri().query(), &user_id) {
            return see_other(&clean);
        }
        if let Some(location) = page_redirect(request.uri(), session.as_ref().map(|s| s.user.role)) {
            return see_other(&location);
        }
        if let (Some(area), Some(session)) = (other_area(request.uri().path(), session.as_ref().map(|s| s.user.role)), &session) {
            return no_access_page(area, &session.user.email);
        }
    }
    let path = request.uri().path();
    let is_server_fn = path.starts_with("/fn/");
    // Fail closed: every server function but the public ones needs a session, checked here
    // before its arguments are even read. Each function still checks its role itself.
    if is_server_fn && session.is_none() && !PUBLIC_SERVER_FNS.contains(&path) {
        // A plain form post (its session expired meanwhile) is a browser at a page: to sign-in,
        // and back to that page after.
        if app::ssr::accepts_html(request.headers()) {
            let back = request.headers().get(header::REFERER).and_then(|v| v.to_str().ok()).and_then(app::ssr::page_of).unwrap_or("/");
            return see_other(&format!("/signin?next={}", percent_encode(back)));
        }
        return problem(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required", "Sign in to continue.");
    }
    let signed_in = session.is_some();
    // A server function's redirect: marked (a plain form post that worked says so) and signed.
    let form_post = is_server_fn.then(|| {
        let referer = request.headers().get(header::REFERER).and_then(|v| v.to_str().ok()).map(str::to_string);
        (app::ssr::accepts_html(request.headers()), referer, path.to_string())
    });
    request.extensions_mut().insert(RequestAuth { session, client_address, secure: state.secure });
    request.extensions_mut().insert(state.services.clone());
    // The gateway's live state: the admin dashboard counts its live credentials.
    request.extensions_mut().insert(state.gateway.clone());
    if let Some(addr) = state.gateway_addr {
        request.extensions_mut().insert(app::api::portal::server::GatewayAddress(addr));
    }
    if let Some(reader) = &state.quota_usage {
        request.extensions_mut().insert(reader.clone());
    }
    if let Some(reader) = &state.traffic {
        request.extensions_mut().insert(reader.clone());
    }
    let mut response = next.run(request).await;
    if is_server_fn && response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        response = client_errors_are_not_500(response).await;
    }
    if let Some((plain, referer, function_path)) = form_post {
        crate::form_posts::mark_redirect(&mut response, plain, referer.as_deref(), &function_path, &user_id);
    }
    // Static files set their own (assets.rs: immutable when hashed). Everything else is
    // revalidated; pages with personal data, and every answer to a bearer token (the admin
    // REST API, /metrics), must not be kept by shared caches or the back-forward cache at all.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        let policy = if signed_in || by_bearer { "no-store" } else { "no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Routes a bearer token authenticates: the admin REST API (but not the consumers' part of it)
/// and the portal's `/metrics`.
fn bearer_route(path: &str) -> bool {
    let admin_api = path.starts_with("/api/")
        && !path.starts_with("/api/v1/portal/")
        && path != "/api/v1/portal"
        && !crate::rest::PUBLIC_ROUTES.contains(&path);
    // Health probes take no authentication: a monitor that sends a header anyway is not refused.
    admin_api || matches!(path, "/metrics" | "/healthz" | "/readyz")
}

/// Server functions that anonymous visitors may call.
const PUBLIC_SERVER_FNS: &[&str] = &["/fn/sign_in", "/fn/redeem_link"];

/// The server-function framework answers 500 when it cannot read a function's arguments,
/// before our code runs. That is the client's error: answer 400 (the body is kept).
async fn client_errors_are_not_500(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", "Something went wrong on the server.");
    };
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string));
    if code.as_deref() == Some("invalid_request") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Where a GET of a page must go instead, given the visitor's role (None: signed out).
fn page_redirect(uri: &http::Uri, role: Option<certgate_services::accounts::Role>) -> Option<String> {
    use certgate_services::accounts::Role;
    let path = uri.path();
    let is_admin_area = path == "/admin" || path.starts_with("/admin/");
    let is_portal_area = path == "/portal" || path.starts_with("/portal/");
    let is_consumer_area = path == "/" || path == "/account" || is_portal_area;
    match (role, path) {
        (Some(Role::Admin), "/signin" | "/") => Some("/admin".into()),
        (Some(Role::Consumer), "/signin") => Some("/".into()),
        (None, _) if is_admin_area || is_consumer_area => {
            let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or(path);
            Some(format!("/signin?next={}", percent_encode(target)))
        }
        _ => None,
    }
}

/// The area of a page that the signed-in role has no access to: a consumer on an admin page,
/// an admin on a developer-portal page. They are told so (403), not sent elsewhere silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OtherArea {
    Admin,
    Portal,
}

fn other_area(path: &str, role: Option<certgate_services::accounts::Role>) -> Option<OtherArea> {
    use certgate_services::accounts::Role;
    let is_admin_area = path == "/admin" || path.starts_with("/admin/");
    let is_portal_area = path == "/portal" || path.starts_with("/portal/");
    match role {
        Some(Role::Consumer) if is_admin_area => Some(OtherArea::Admin),
        Some(Role::Admin) if is_portal_area => Some(OtherArea::Portal),
        _ => None,
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;")
}

/// The 403 page of [`other_area`]: plain HTML (nothing to hydrate), with the way to the
/// visitor's own area and a sign-out form (a plain POST: it works without wasm).
fn no_access_page(area: OtherArea, email: &str) -> Response {
    let (what, why, home, home_text) = match area {
        OtherArea::Admin => (
            "the admin portal",
            "It is for the API provider's administrators. If you need it, ask your API provider for an administrator account.",
            "/",
            "Go to your developer portal",
        ),
        OtherArea::Portal => (
            "the developer portal",
            "It is for API consumers, who sign in with their own accounts. As an administrator you see every organisation's \
             apps, credentials and certificates in the admin portal (Organisations, Access requests).",
            "/admin",
            "Go to the admin portal",
        ),
    };
    let stylesheet = html_escape(&crate::assets::site_assets().stylesheet);
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>No access · certgate</title><link rel=\"stylesheet\" href=\"{stylesheet}\"/>\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"/></head><body>\
         <header class=\"site-header\"><div class=\"container header-row\"><a class=\"brand\" href=\"{home}\">certgate</a></div></header>\
         <main id=\"main\" class=\"container\"><section class=\"card narrow\" data-testid=\"no-access\">\
         <h1>You do not have access to this page</h1>\
         <p>This page is part of {what}, and you are signed in as <strong>{email}</strong>. {why}</p>\
         <p><a class=\"button primary\" href=\"{home}\" data-testid=\"no-access-home\">{home_text}</a></p>\
         <form method=\"post\" action=\"/fn/sign_out\"><p class=\"muted\">Another account? \
         <button type=\"submit\" class=\"button secondary\">Sign out</button></p></form>\
         </section></main></body></html>",
        email = html_escape(email),
    );
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (StatusCode::FORBIDDEN, headers, body).into_response()
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => problem(StatusCode::BAD_REQUEST, "invalid_request", "Invalid request", "Bad redirect target."),
    }
}

/// Percent-encodes all but RFC 3986 unreserved characters and `/`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a state-changing browser request comes from this origin. Non-browser clients send
/// neither header and carry no ambient credentials a third-party site could ride on.
fn same_origin(headers: &HeaderMap, secure: bool) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let scheme = if secure { "https" } else { "http" };
    !host.is_empty() && origin.as_bytes() == format!("{scheme}://{host}").as_bytes()
}

/// The value of cookie `name` in the request, if any.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use certgate_services::accounts::Role;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_rules() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")]), false));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")]), false));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")]), false));
        assert!(same_origin(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]), false));
        assert!(!same_origin(&headers(&[("origin", "http://127.0.0.1:4000"), ("host", "127.0.0.1:3000")]), false));
        assert!(!same_origin(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]), true));
        assert!(!same_origin(&headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]), false));
        assert!(same_origin(&headers(&[]), false));
    }

    #[test]
    fn only_admin_routes_take_a_bearer() {
        for path in ["/api/v1/organisations", "/api/v1/users", "/api/v1/users/x/invite", "/api/v1/apis/x/explain", "/api/nope", "/metrics", "/healthz", "/readyz"] {
            assert!(bearer_route(path), "{path}");
        }
        for path in ["/fn/sign_out", "/fn/create_organisation", "/api/v1/portal", "/api/v1/portal/keys", "/admin", "/", "/api", "/metricsx"] {
            assert!(!bearer_route(path), "{path}");
        }
        // Consumer and public REST routes: sessions, links and sign-up never take a bearer.
        for path in ["/api/v1/session", "/api/v1/invites/redeem", "/api/v1/password-resets/redeem", "/api/v1/sign-up"] {
            assert!(!bearer_route(path), "{path}");
        }
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = headers(&[("cookie", "a=1; certgate_session=abc; certgate_session_x=no")]);
        assert_eq!(cookie(&h, "certgate_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn protected_pages_redirect_by_role() {
        let uri = |s: &'static str| http::Uri::from_static(s);
        assert_eq!(page_redirect(&uri("/admin/organisations?x=1"), None).as_deref(), Some("/signin?next=/admin/organisations%3Fx%3D1"));
        assert_eq!(page_redirect(&uri("/account"), None).as_deref(), Some("/signin?next=/account"));
        // A signed-in visitor of the other area is told (403 page), not redirected.
        assert_eq!(page_redirect(&uri("/admin"), Some(Role::Consumer)), None);
        assert_eq!(other_area("/admin/apis/x", Some(Role::Consumer)), Some(OtherArea::Admin));
        assert_eq!(other_area("/portal/apps", Some(Role::Admin)), Some(OtherArea::Portal));
        assert_eq!(other_area("/administrator", Some(Role::Consumer)), None);
        assert_eq!(other_area("/admin", None), None);
        assert_eq!(other_area("/admin", Some(Role::Admin)), None);
        assert_eq!(other_area("/portal/apps", Some(Role::Consumer)), None);
        assert_eq!(page_redirect(&uri("/signin"), Some(Role::Admin)).as_deref(), Some("/admin"));
        assert_eq!(page_redirect(&uri("/"), Some(Role::Admin)).as_deref(), Some("/admin"));
        assert_eq!(page_redirect(&uri("/admin"), Some(Role::Admin)), None);
        assert_eq!(page_redirect(&uri("/signin"), None), None);
        assert_eq!(page_redirect(&uri("/no-such-page"), None), None);
        // The developer portal's pages: consumers only.
        assert_eq!(page_redirect(&uri("/portal/apps/app_1"), None).as_deref(), Some("/signin?next=/portal/apps/app_1"));
        assert_eq!(page_redirect(&uri("/portal/products"), Some(Role::Admin)), None);
        assert_eq!(page_redirect(&uri("/portal/products"), Some(Role::Consumer)), None);
        assert_eq!(page_redirect(&uri("/portalx"), None), None);
    }
}
