//! API definitions and credentials as the admin writes them: the serde shapes of the REST API
//! and the store, with their validation. Pure.

use serde::{Deserialize, Serialize};

/// Longest listen path accepted.
const MAX_LISTEN_PATH: usize = 200;
const MAX_NAME_CHARS: usize = 100;

/// Why a definition cannot be used. `code` is stable; `message` is for people and never repeats
/// a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub code: &'static str,
    pub message: String,
}

impl SpecError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        SpecError { code, message: message.into() }
    }
}

/// How requests to an API present a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    AuthToken,
    Jwt,
    None,
}

/// The mTLS part of an API definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MtlsSpec {
    #[serde(default)]
    pub required: bool,
    /// The admin's entries: certificate ids from the store (leaf pins and CA entries).
    #[serde(default)]
    pub allowed_certificates: Vec<String>,
}

/// Where a JWT's verification key comes from. Exactly one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JwtKeySpec {
    /// HMAC secret (HS256/384/512). Kept because it is needed to verify; never shown back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(write_only))]
    pub hmac_secret: Option<String>,
    /// RSA, EC or Ed25519 public key in PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_pem: Option<String>,
    /// A JWKS document (`{"keys": [...]}`) kept in the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
}

fn default_identity_claim() -> String {
    "sub".into()
}

fn default_leeway() -> u64 {
    30
}

/// JWT settings of an API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JwtSpec {
    /// Pinned algorithms, e.g. `["RS256"]`. One key family only.
    pub algorithms: Vec<String>,
    pub key: JwtKeySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The claim naming the caller (default `sub`).
    #[serde(default = "default_identity_claim")]
    pub identity_claim: String,
    /// A claim whose value names the caller's plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_claim: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds (default 30, at most 300).
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

fn default_connect_ms() -> u64 {
    5_000
}
fn default_response_ms() -> u64 {
    30_000
}

/// Upstream timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TimeoutsSpec {
    #[serde(default = "default_connect_ms")]
    pub connect_ms: u64,
    /// Until the upstream's response headers arrive.
    #[serde(default = "default_response_ms")]
    pub response_ms: u64,
}

impl Default for TimeoutsSpec {
    fn default() -> Self {
        TimeoutsSpec { connect_ms: default_connect_ms(), response_ms: default_response_ms() }
    }
}

fn yes() -> bool {
    true
}

fn default_max_body() -> u64 {
    10 * 1024 * 1024
}

/// An API definition as the admin writes it. Only `name`, `listen_path`, `upstream_url` and
/// `auth` are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    pub name: String,
    pub listen_path: String,
    pub upstream_url: String,
    /// For an https upstream: a CA certificate id from the store to verify it with, instead of
    /// the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_ca: Option<String>,
    /// For an https upstream with a self-signed certificate: that exact certificate's id from
    /// the store. Matched by hash, never made a trust anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_pin: Option<String>,
    #[serde(default = "yes")]
    pub strip_listen_path: bool,
    pub auth: AuthKind,
    #[serde(default)]
    pub mtls: MtlsSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtSpec>,
    #[serde(default)]
    pub timeouts: TimeoutsSpec,
    /// A header that carries the verified client identity to the upstream (off by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_header: Option<String>,
    /// Largest request body forwarded (default 10 MiB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Client-sent headers this API also drops, beside the families every API drops: exact
    /// names, or prefixes ending in `*` (e.g. `x-internal-*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strip_request_headers: Vec<String>,
}

impl ApiSpec {
    /// Every certificate id the definition refers to (allow list and upstream CA).
    pub fn certificate_ids(&self) -> impl Iterator<Item = &String> {
        self.mtls.allowed_certificates.iter().chain(self.upstream_ca.iter()).chain(self.upstream_pin.iter())
    }
}

impl ApiSpec {
    /// Checks every field and puts the listen path and certificate ids in canonical form.
    /// (Whether the certificates exist, and whether the listen path is free, is the store's
    /// business.)
    pub fn normalise(mut self) -> Result<ApiSpec, SpecError> {
        self.name = self.name.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > MAX_NAME_CHARS || self.name.chars().any(char::is_control) {
            return Err(SpecError::new(
                "invalid_name",
                format!("The name must have 1 to {MAX_NAME_CHARS} characters and no control characters."),
            ));
        }
        self.listen_path = normalise_listen_path(&self.listen_path)?;
        let upstream = Upstream::parse(&self.upstream_url)?;
        if let Some(ca) = &self.upstream_ca {
            if !upstream.https {
                return Err(SpecError::new("upstream_ca_unused", "upstream_ca applies only to an https upstream."));
            }
            self.upstream_ca = normalise_certificate_ids(std::slice::from_ref(ca))?.pop();
        }
        if let Some(pin) = &self.upstream_pin {
            if !upstream.https {
                return Err(SpecError::new("upstream_pin_unused", "upstream_pin applies only to an https upstream."));
            }
            if self.upstream_ca.is_some() {
                return Err(SpecError::new(
                    "upstream_trust_conflict",
                    "Set upstream_ca (a CA that signed the upstream's certificate) or upstream_pin (the upstream's own self-signed certificate), not both.",
                ));
            }
            self.upstream_pin = normalise_certificate_ids(std::slice::from_ref(pin))?.pop();
        }
        self.mtls.allowed_certificates = normalise_certificate_ids(&self.mtls.allowed_certificates)?;
        match (self.auth, &self.jwt) {
            (AuthKind::Jwt, None) => {
                return Err(SpecError::new("jwt_settings_missing", "An API with \"auth\": \"jwt\" needs a \"jwt\" object."))
            }
            (AuthKind::Jwt, Some(jwt)) => {
                if jwt.leeway_seconds > 300 {
                    return Err(SpecError::new("invalid_jwt_settings", "leeway_seconds must be at most 300."));
                }
                super::jwt::JwtVerifier::new(jwt)?;
            }
            (_, Some(_)) => {
                return Err(SpecError::new("jwt_settings_unused", "\"jwt\" settings apply only when \"auth\" is \"jwt\"."))
            }
            (_, None) => {}
        }
        if !(100..=600_000).contains(&self.timeouts.connect_ms) || !(100..=3_600_000).contains(&self.timeouts.response_ms) {
            return Err(SpecError::new(
                "invalid_timeouts",
                "connect_ms must be 100 to 600000 and response_ms 100 to 3600000.",
            ));
        }
        if let Some(header) = &self.identity_header {
            let lower = header.trim().to_ascii_lowercase();
            let valid = !lower.is_empty() && lower.len() <= 64 && lower.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            let reserved = ["host", "authorization", "cookie", "content-length", "transfer-encoding", "connection"];
            if !valid || reserved.contains(&lower.as_str()) {
                return Err(SpecError::new("invalid_identity_header", "identity_header must be a plain header name (letters, digits, '-') that is not a standard header."));
            }
            self.identity_header = Some(lower);
        }
        if self.strip_request_headers.len() > 32 {
            return Err(SpecError::new("invalid_strip_header", "strip_request_headers takes at most 32 patterns."));
        }
        let mut patterns: Vec<String> = Vec::new();
        for pattern in &self.strip_request_headers {
            let canonical = super::headers::HeaderPattern::parse(pattern)?.as_text();
            if !patterns.contains(&canonical) {
                patterns.push(canonical);
            }
        }
        self.strip_request_headers = patterns;
        if self.max_body_bytes == 0 || self.max_body_bytes > 1024 * 1024 * 1024 {
            return Err(SpecError::new("invalid_max_body", "max_body_bytes must be 1 byte to 1 GiB."));
        }
        Ok(self)
    }
}

/// `/orders/` and `/orders` are the same listen path: stored without the trailing slash
/// (except the root `/`).
pub fn normalise_listen_path(path: &str) -> Result<String, SpecError> {
    let path = path.trim();
    let bad = || {
        SpecError::new(
            "invalid_listen_path",
            "The listen path must start with '/', have at most 200 characters, and hold no spaces, '?', '#', '%', '.' or '..' segments, or '//'.",
        )
    };
    if !path.starts_with('/') || path.len() > MAX_LISTEN_PATH || path.contains("//") {
        return Err(bad());
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '%' | '\\')) {
        return Err(bad());
    }
    if path.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(bad());
    }
    let trimmed = path.trim_end_matches('/');
    Ok(if trimmed.is_empty() { "/".to_string() } else { trimmed.to_string() })
}

/// Certificate ids in lowercase hex (colon form accepted), without duplicates, order kept.
pub fn normalise_certificate_ids(ids: &[String]) -> Result<Vec<String>, SpecError> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let id: String = id.trim().chars().filter(|c| *c != ':').collect::<String>().to_lowercase();
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SpecError::new(
                "invalid_certificate_id",
                "A certificate id is the SHA-256 of its DER: 64 hex digits (colons allowed).",
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// A parsed upstream URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub https: bool,
    /// `host:port` (port always present).
    pub authority: String,
    /// The host, for TLS server-name checks.
    pub host: String,
    /// The path prefix requests are appended to, without a trailing slash (may be empty).
    pub base_path: String,
}

impl Upstream {
    pub fn parse(url: &str) -> Result<Upstream, SpecError> {
        let bad = |why: &str| SpecError::new("invalid_upstream_url", format!("The upstream URL is not usable: {why}."));
        let uri: http::Uri = url.trim().parse().map_err(|_| bad("it is not a URL"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let authority = uri.authority().ok_or_else(|| bad("it has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL are not allowed"));
        }
        if uri.query().is_some() {
            return Err(bad("it must not have a query"));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        if host.is_empty() {
            return Err(bad("it has no host"));
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host_for_authority = if host.contains(':') { format!("[{host}]") } else { host.clone() };
        Ok(Upstream {
            https,
            authority: format!("{host_for_authority}:{port}"),
            host,
            base_path: uri.path().trim_end_matches('/').to_string(),
        })
    }
}

/// A token-bucket rate: `requests` per `per_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub requests: u32,
    pub per_seconds: u32,
}

/// The period a quota counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuotaPeriod {
    Day,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub max: u64,
    pub period: QuotaPeriod,
}

/// A credential (Auth Token) as the admin asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub apis: Vec<String>,
    /// Certificates the token is bound to. Absent: not bound. Present (even empty): bound, and
    /// an empty set denies every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_certificates: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// Unix seconds after which the token no longer works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl KeySpec {
    pub fn normalise(mut self, now: i64) -> Result<KeySpec, SpecError> {
        if self.apis.is_empty() {
            return Err(SpecError::new("apis_missing", "A key must grant at least one API (\"apis\": [\"<api id>\"])."));
        }
        let mut apis: Vec<String> = Vec::new();
        for api in &self.apis {
            let api = api.trim().to_string();
            if api.is_empty() || api.len() > 64 {
                return Err(SpecError::new("invalid_api_id", "An API id is 1 to 64 characters."));
            }
            if !apis.contains(&api) {
                apis.push(api);
            }
        }
        self.apis = apis;
        if let Some(bound) = &self.bound_certificates {
            self.bound_certificates = Some(normalise_certificate_ids(bound)?);
        }
        if let Some(rate) = self.rate {
            if rate.requests == 0 || rate.per_seconds == 0 || rate.per_seconds > 86_400 {
                return Err(SpecError::new("invalid_rate", "rate needs requests >= 1 and per_seconds 1 to 86400."));
            }
        }
        if let Some(quota) = self.quota {
            if quota.max == 0 {
                return Err(SpecError::new("invalid_quota", "quota.max must be at least 1."));
            }
        }
        if let Some(expires_at) = self.expires_at {
            if expires_at <= now {
                return Err(SpecError::new("invalid_expiry", "expires_at must be in the future."));
            }
        }
        Ok(self)
    }
}

impl QuotaPeriod {
    /// The window containing `now`: (start, end) in Unix seconds, UTC calendar days or months.
    pub fn window(self, now: i64) -> (i64, i64) {
        const DAY: i64 = 86_400;
        let day_start = now.div_euclid(DAY) * DAY;
        match self {
            QuotaPeriod::Day => (day_start, day_start + DAY),
            QuotaPeriod::Month => {
                let Ok(at) = time::OffsetDateTime::from_unix_timestamp(now) else { return (day_start, day_start + DAY) };
                let first = at.date().replace_day(1).unwrap_or(at.date());
                let next = first.checked_add(time::Duration::days(32)).and_then(|d| d.replace_day(1).ok()).unwrap_or(first);
                let ts = |d: time::Date| d.midnight().assume_utc().unix_timestamp();
                (ts(first), ts(next))
            }
        }
    }
}

#[cfg(test)]
mod quota_tests {
    use super::QuotaPeriod;

    #[test]
    fn quota_windows_are_utc_days_and_calendar_months() {
        // 2026-02-14T10:00:00Z
        let now = 1_771_063_200;
        assert_eq!(QuotaPeriod::Day.window(now), (1_771_027_200, 1_771_113_600));
        // February 2026: 2026-02-01 .. 2026-03-01
        assert_eq!(QuotaPeriod::Month.window(now), (1_769_904_000, 1_772_323_200));
        // December rolls into January.
        let december = 1_798_675_200 + 3600; // 2026-12-31T01:00:00Z
        assert_eq!(QuotaPeriod::Month.window(december).1, 1_798_761_600); // 2027-01-01
    }
}
