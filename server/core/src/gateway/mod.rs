//! The gateway's decision, as a pure function (DESIGN.md, "Gateway decision"): given the API's
//! snapshot, the peer's certificate, the presented credential and `now`, grant or deny.
//! Rate limits and quotas are counted by the gateway (they are state); the grant says which.

pub mod chain;
pub mod compact_id;
pub mod headers;
pub mod jwt;
pub mod path;
pub mod spec;
pub mod view;

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::pki::{self, CertificateFacts, ClientCertificateProblem};
use crate::problem::Problem;
use crate::UnixSeconds;
use chain::ChainCheck;
use spec::{Quota, Rate};
use view::{ApiView, AuthView, CertificateSet, KeyMap};

/// Prefix of every Auth Token certgate issues: recognisable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "cgk_";

/// The certificate the client presented: its leaf (parsed) and the intermediates it sent.
#[derive(Debug, Clone)]
pub struct PeerCertificate {
    pub der: Vec<u8>,
    /// `None` when the leaf cannot be parsed (it is then unusable).
    pub facts: Option<CertificateFacts>,
    pub intermediates: Vec<Vec<u8>>,
}

impl PeerCertificate {
    pub fn new(chain: &[impl AsRef<[u8]>]) -> Option<PeerCertificate> {
        let (leaf, rest) = chain.split_first()?;
        let der = leaf.as_ref().to_vec();
        Some(PeerCertificate {
            facts: pki::parse_der(&der).ok(),
            der,
            intermediates: rest.iter().map(|c| c.as_ref().to_vec()).collect(),
        })
    }

    pub fn id(&self) -> String {
        self.facts.as_ref().map(|f| f.id.clone()).unwrap_or_else(|| hex::encode(Sha256::digest(&self.der)))
    }
}

/// Why a request is refused. Each has a stable code and status (DESIGN.md lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    GatewayUnavailable,
    InvalidPath,
    ApiNotFound,
    ClientCertificateRequired,
    ClientCertificateNotAllowed,
    ClientCertificateExpired,
    ClientCertificateNotYetValid,
    ClientCertificateUnusable,
    CredentialMissing,
    CredentialInvalid,
    ApiNotGranted,
    CertificateBindingMismatch,
    ApiMisconfigured,
    RateLimited,
    QuotaExceeded,
    MisdirectedRequest,
    BodyTooLarge,
    UpstreamUnavailable,
    UpstreamTimeout,
}

impl DenialKind {
    /// Every kind, in a fixed order: [`DenialKind::index`] is the position here (traffic series
    /// count denials in an array indexed by it; saved series store codes, never positions).
    pub const ALL: [DenialKind; 19] = [
        DenialKind::GatewayUnavailable,
        DenialKind::InvalidPath,
        DenialKind::ApiNotFound,
        DenialKind::ClientCertificateRequired,
        DenialKind::ClientCertificateNotAllowed,
        DenialKind::ClientCertificateExpired,
        DenialKind::ClientCertificateNotYetValid,
        DenialKind::ClientCertificateUnusable,
        DenialKind::CredentialMissing,
        DenialKind::CredentialInvalid,
        DenialKind::ApiNotGranted,
        DenialKind::CertificateBindingMismatch,
        DenialKind::ApiMisconfigured,
        DenialKind::RateLimited,
        DenialKind::QuotaExceeded,
        DenialKind::MisdirectedRequest,
        DenialKind::BodyTooLarge,
        DenialKind::UpstreamUnavailable,
        DenialKind::UpstreamTimeout,
    ];

    /// This kind's position in [`DenialKind::ALL`].
    pub fn index(self) -> usize {
        // The enum has no explicit discriminants and ALL lists it in declaration order (a test
        // checks both), so the discriminant is the position.
        self as usize
    }

    /// The kind with this stable code.
    pub fn from_code(code: &str) -> Option<DenialKind> {
        DenialKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            DenialKind::GatewayUnavailable => "gateway_unavailable",
            DenialKind::InvalidPath => "invalid_path",
            DenialKind::ApiNotFound => "api_not_found",
            DenialKind::ClientCertificateRequired => "client_certificate_required",
            DenialKind::ClientCertificateNotAllowed => "client_certificate_not_allowed",
            DenialKind::ClientCertificateExpired => "client_certificate_expired",
            DenialKind::ClientCertificateNotYetValid => "client_certificate_not_yet_valid",
            DenialKind::ClientCertificateUnusable => "client_certificate_unusable",
            DenialKind::CredentialMissing => "credential_missing",
            DenialKind::CredentialInvalid => "credential_invalid",
            DenialKind::ApiNotGranted => "api_not_granted",
            DenialKind::CertificateBindingMismatch => "certificate_binding_mismatch",
            DenialKind::ApiMisconfigured => "api_misconfigured",
            DenialKind::RateLimited => "rate_limited",
            DenialKind::QuotaExceeded => "quota_exceeded",
            DenialKind::MisdirectedRequest => "misdirected_request",
            DenialKind::BodyTooLarge => "body_too_large",
            DenialKind::UpstreamUnavailable => "upstream_unavailable",
            DenialKind::UpstreamTimeout => "upstream_timeout",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            DenialKind::GatewayUnavailable => 503,
            DenialKind::InvalidPath => 400,
            DenialKind::ApiNotFound => 404,
            DenialKind::ClientCertificateRequired
            | DenialKind::CredentialMissing
            | DenialKind::CredentialInvalid
            | DenialKind::CertificateBindingMismatch => 401,
            DenialKind::ClientCertificateNotAllowed
            | DenialKind::ClientCertificateExpired
            | DenialKind::ClientCertificateNotYetValid
            | DenialKind::ClientCertificateUnusable
            | DenialKind::ApiNotGranted => 403,
            DenialKind::RateLimited | DenialKind::QuotaExceeded => 429,
            DenialKind::MisdirectedRequest => 421,
            DenialKind::BodyTooLarge => 413,
            DenialKind::UpstreamUnavailable => 502,
            DenialKind::ApiMisconfigured => 503,
            DenialKind::UpstreamTimeout => 504,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            DenialKind::GatewayUnavailable => "Gateway unavailable",
            DenialKind::InvalidPath => "Invalid request path",
            DenialKind::ApiNotFound => "No API at this path",
            DenialKind::ClientCertificateRequired => "Client certificate required",
            DenialKind::ClientCertificateNotAllowed => "Client certificate not allowed",
            DenialKind::ClientCertificateExpired => "Client certificate expired",
            DenialKind::ClientCertificateNotYetValid => "Client certificate not yet valid",
            DenialKind::ClientCertificateUnusable => "Client certificate unusable",
            DenialKind::CredentialMissing => "Credential missing",
            DenialKind::CredentialInvalid => "Credential invalid",
            DenialKind::ApiNotGranted => "API not granted",
            DenialKind::CertificateBindingMismatch => "Certificate binding mismatch",
            DenialKind::ApiMisconfigured => "API misconfigured",
            DenialKind::RateLimited => "Rate limit exceeded",
            DenialKind::QuotaExceeded => "Quota exceeded",
            DenialKind::MisdirectedRequest => "Misdirected request",
            DenialKind::BodyTooLarge => "Request body too large",
            DenialKind::UpstreamUnavailable => "Upstream unavailable",
            DenialKind::UpstreamTimeout => "Upstream timeout",
        }
    }

    /// The `WWW-Authenticate` challenge RFC 6750 / RFC 8705 call for, if any.
    pub fn challenge(self) -> Option<&'static str> {
        match self {
            DenialKind::CredentialMissing | DenialKind::ClientCertificateRequired => Some("Bearer realm=\"certgate\""),
            DenialKind::CredentialInvalid | DenialKind::CertificateBindingMismatch => {
                Some("Bearer realm=\"certgate\", error=\"invalid_token\"")
            }
            _ => None,
        }
    }
}

/// A refusal: its kind and a human detail that never names allow-list entries or echoes a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub kind: DenialKind,
    pub detail: String,
}

impl Denial {
    pub fn new(kind: DenialKind, detail: impl Into<String>) -> Denial {
        Denial { kind, detail: detail.into() }
    }

    pub fn problem(&self) -> Problem {
        Problem::new(self.kind.status(), self.kind.code(), self.kind.title(), Some(self.detail.clone()))
    }
}

/// Who the caller is, once granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub api_id: String,
    /// The Auth Token's key id, when the API uses Auth Tokens.
    pub key_id: Option<String>,
    /// What rate limits and quotas are counted by (the key, or a portal credential's subscription).
    pub limits_key: Option<String>,
    /// The JWT's identity claim, when the API uses JWTs.
    pub jwt_identity: Option<String>,
    pub jwt_plan: Option<String>,
    /// The verified client certificate (id, subject), when one was presented and checked.
    pub certificate_id: Option<String>,
    pub certificate_subject: Option<String>,
    pub rate: Option<Rate>,
    pub quota: Option<Quota>,
    /// A portal credential's app and organisation.
    pub owner: Option<Arc<view::KeyOwner>>,
}

/// What the request presents, besides its certificate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// The bearer credential from `Authorization`, if any.
    pub bearer: Option<&'a str>,
}

/// The value of a `Bearer` authorization header (scheme case-insensitive), if well-formed.
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// SHA-256 hex of a token: the only form in which tokens are stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(token_digest(token))
}

/// SHA-256 of a token: the form the gateway looks tokens up by.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Does the peer's leaf match one entry of `set` (pinned id, or a chain to a CA entry)?
fn matches_set(set: &CertificateSet, peer: &PeerCertificate, id: &str, now: UnixSeconds, chains: &dyn ChainCheck) -> bool {
    set.is_pinned(id) || set.cas.iter().any(|ca| chains.chains_to(peer, ca, now))
}

/// The mTLS step alone: whether this peer may call this API at `now`. The gateway caches the
/// result per connection and snapshot generation.
pub fn check_client_certificate(
    api: &ApiView,
    peer: Option<&PeerCertificate>,
    now: UnixSeconds,
    chains: &dyn ChainCheck,
) -> Result<(), Denial> {
    if !api.mtls_required {
        return Ok(());
    }
    let Some(peer) = peer else {
        return Err(Denial::new(
            DenialKind::ClientCertificateRequired,
            "This API requires a client certificate: present one in the TLS handshake.",
        ));
    };
    let Some(facts) = &peer.facts else {
        return Err(Denial::new(DenialKind::ClientCertificateUnusable, "The client certificate cannot be parsed."));
    };
    if let Some(problem) = pki::client_auth_problem(facts, now) {
        let kind = match problem {
            ClientCertificateProblem::Expired => DenialKind::ClientCertificateExpired,
            ClientCertificateProblem::NotYetValid => DenialKind::ClientCertificateNotYetValid,
            _ => DenialKind::ClientCertificateUnusable,
        };
        return Err(Denial::new(kind, problem.describe()));
    }
    if matches_set(&api.allowed, peer, &facts.id, now, chains) {
        Ok(())
    } else {
        Err(Denial::new(DenialKind::ClientCertificateNotAllowed, "The client certificate is not allowed for this API."))
    }
}

/// The whole decision after routing: mTLS (unless `mtls_verdict` already holds the cached
/// result), credential, binding. `now` is Unix seconds.
pub fn decide(
    keys: &KeyMap,
    api: &ApiView,
    peer: Option<&PeerCertificate>,
    presented: Presented<'_>,
    now: UnixSeconds,
    chains: &dyn ChainCheck,
    mtls_verdict: Option<Result<(), Denial>>,
) -> Result<Grant, Denial> {
    mtls_verdict.unwrap_or_else(|| check_client_certificate(api, peer, now, chains))?;
    let verified_peer = peer.and_then(|p| p.facts.as_ref().map(|f| (p, f)));
    let mut grant = Grant {
        api_id: api.id.clone(),
        key_id: None,
        limits_key: None,
        jwt_identity: None,
        jwt_plan: None,
        certificate_id: verified_peer.filter(|_| api.mtls_required).map(|(_, f)| f.id.clone()),
        certificate_subject: verified_peer.filter(|_| api.mtls_required).map(|(_, f)| f.subject.clone()),
        rate: None,
        quota: None,
        owner: None,
    };
    match api.auth.as_ref() {
        AuthView::None => Ok(grant),
        AuthView::Misconfigured => Err(Denial::new(
            DenialKind::ApiMisconfigured,
            "This API's authentication settings are not usable; its owner has to fix them.",
        )),
        AuthView::AuthToken => {
            let token = presented.bearer.ok_or_else(|| {
                Denial::new(DenialKind::CredentialMissing, "Send the Auth Token as `Authorization: Bearer <token>`.")
            })?;
            let key = keys
                .get(&token_digest(token))
                .map(|entry| Arc::clone(entry.value()))
                .ok_or_else(|| Denial::new(DenialKind::CredentialInvalid, "The Auth Token is not valid."))?;
            if key.expired(now) {
                return Err(Denial::new(DenialKind::CredentialInvalid, "The Auth Token has expired."));
            }
            let terms = &key.terms;
            if !terms.apis.iter().any(|a| a == &api.id) {
                return Err(Denial::new(DenialKind::ApiNotGranted, "The Auth Token does not grant access to this API."));
            }
            if let Some(binding) = &terms.binding {
                let bound_leaf = verified_peer
                    .filter(|(p, f)| pki::client_auth_problem(f, now).is_none() && matches_set(binding, p, &f.id, now, chains))
                    .map(|(_, f)| f);
                let Some(facts) = bound_leaf else {
                    return Err(Denial::new(
                        DenialKind::CertificateBindingMismatch,
                        "The Auth Token is bound to other client certificates than the one presented.",
                    ));
                };
                grant.certificate_id = Some(facts.id.clone());
                grant.certificate_subject = Some(facts.subject.clone());
            }
            grant.key_id = Some(key.id.as_string());
            grant.limits_key = Some(key.limits_key().as_string());
            grant.rate = terms.rate;
            grant.quota = terms.quota;
            grant.owner = key.owner.clone();
            Ok(grant)
        }
        AuthView::Jwt(verifier) => {
            let token = presented.bearer.ok_or_else(|| {
                Denial::new(DenialKind::CredentialMissing, "Send the JWT as `Authorization: Bearer <token>`.")
            })?;
            let claims = verifier
                .verify(token, now)
                .map_err(|why| Denial::new(DenialKind::CredentialInvalid, format!("The JWT is not accepted: {why}.")))?;
            if let Some(thumbprint) = &claims.bound_x5t_s256 {
                // RFC 8705: only the exact certificate whose thumbprint the token carries.
                let presented_thumbprint = verified_peer.map(|(_, f)| f.x5t_s256.as_str());
                if presented_thumbprint != Some(thumbprint.as_str()) {
                    return Err(Denial::new(
                        DenialKind::CertificateBindingMismatch,
                        "The JWT is bound (cnf x5t#S256) to another client certificate than the one presented.",
                    ));
                }
                if let Some((_, facts)) = verified_peer {
                    if pki::client_auth_problem(facts, now).is_some() {
                        return Err(Denial::new(DenialKind::ClientCertificateUnusable, "The bound client certificate is not usable now."));
                    }
                    grant.certificate_id = Some(facts.id.clone());
                    grant.certificate_subject = Some(facts.subject.clone());
                }
            }
            grant.jwt_identity = Some(claims.identity);
            grant.jwt_plan = claims.plan;
            Ok(grant)
        }
    }
}

/// One check of an explanation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExplainStep {
    /// `client_certificate`, `credential`, `binding` or `limits`.
    pub step: &'static str,
    /// `pass`, `fail` or `not_checked`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    pub detail: String,
}

fn step(step: &'static str, outcome: &'static str, code: Option<&'static str>, detail: impl Into<String>) -> ExplainStep {
    ExplainStep { step, outcome, code, detail: detail.into() }
}

/// For admins: every check of the decision for this API, certificate and credential, and why
/// each passes or fails. Unlike the gateway, it goes on after a failure (the gateway stops at
/// the first). Uses `decide` itself, so the explanation cannot drift from the enforcement.
pub fn explain(
    keys: &KeyMap,
    api: &ApiView,
    peer: Option<&PeerCertificate>,
    presented: Presented<'_>,
    now: UnixSeconds,
    chains: &dyn ChainCheck,
) -> (bool, Vec<ExplainStep>) {
    let mut steps = Vec::new();
    let mtls = check_client_certificate(api, peer, now, chains);
    steps.push(match (&mtls, api.mtls_required) {
        (Ok(()), false) => step("client_certificate", "pass", None, "This API does not require a client certificate."),
        (Ok(()), true) => {
            let how = match peer.and_then(|p| p.facts.as_ref()) {
                Some(f) if api.allowed.is_pinned(&f.id) => "it is pinned on the allow list".to_string(),
                _ => match api.allowed.cas.iter().find(|ca| peer.is_some_and(|p| chains.chains_to(p, ca, now))) {
                    Some(ca) => format!("it chains to the CA entry {}", ca.id),
                    None => "it is allowed".to_string(),
                },
            };
            step("client_certificate", "pass", None, format!("The certificate is usable and {how}."))
        }
        (Err(d), _) => step("client_certificate", "fail", Some(d.kind.code()), d.detail.clone()),
    });
    let outcome = decide(keys, api, peer, presented, now, chains, Some(Ok(())));
    match &outcome {
        Ok(grant) => {
            let who = match (&grant.key_id, &grant.jwt_identity) {
                (Some(key), _) => format!("Auth Token of key {key}."),
                (None, Some(sub)) => format!("JWT for {sub}."),
                (None, None) => "This API takes no credential.".to_string(),
            };
            steps.push(step("credential", "pass", None, who));
            let bound = match (&grant.key_id, &grant.certificate_id) {
                (Some(_), _) if presented.bearer.and_then(|t| keys.get(&token_digest(t))).is_some_and(|k| k.terms.binding.is_some()) => {
                    "The credential is bound and the certificate is one of its certificates."
                }
                (None, Some(_)) if grant.jwt_identity.is_some() => "The JWT's cnf names this certificate.",
                _ => "The credential is not bound to certificates.",
            };
            steps.push(step("binding", "pass", None, bound));
            let limits = match (grant.rate, grant.quota) {
                (None, None) => "No rate limit or quota.".to_string(),
                (rate, quota) => format!(
                    "{}{}",
                    rate.map(|r| format!("Rate {} per {} s. ", r.requests, r.per_seconds)).unwrap_or_default(),
                    quota.map(|q| format!("Quota {} per {:?}.", q.max, q.period).to_lowercase()).unwrap_or_default()
                ),
            };
            steps.push(step("limits", "pass", None, limits.trim().to_string()));
        }
        Err(d) if matches!(d.kind, DenialKind::CertificateBindingMismatch | DenialKind::ClientCertificateUnusable) => {
            steps.push(step("credential", "pass", None, "The credential is valid for this API."));
            steps.push(step("binding", "fail", Some(d.kind.code()), d.detail.clone()));
            steps.push(step("limits", "not_checked", None, "Not reached."));
        }
        Err(d) => {
            steps.push(step("credential", "fail", Some(d.kind.code()), d.detail.clone()));
            steps.push(step("binding", "not_checked", None, "Not reached."));
            steps.push(step("limits", "not_checked", None, "Not reached."));
        }
    }
    (mtls.is_ok() && outcome.is_ok(), steps)
}

#[cfg(test)]
mod tests;
