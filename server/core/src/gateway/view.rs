//! The gateway's view: an immutable snapshot compiled from the store's API definitions,
//! credentials and certificates. The store's writer builds a new one after each commit that
//! changes them; the gateway swaps it in before the write is acknowledged.

use std::collections::HashMap;
use std::sync::Arc;

use super::compact_id::CompactId;
use super::headers::HeaderPattern;
use super::jwt::JwtVerifier;
use super::spec::{ApiSpec, AuthKind, KeySpec, Quota, Rate, TimeoutsSpec, Upstream};

/// A CA entry: its id and DER (a trust anchor for chain checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertificate {
    pub id: String,
    pub der: Vec<u8>,
}

/// A set of certificate entries: leaf pins and CA entries. Pins are kept as sorted binary
/// SHA-256 digests (32 bytes each, binary search): compact enough for 100,000 credentials.
#[derive(Debug, Clone, Default)]
pub struct CertificateSet {
    pins: Vec<[u8; 32]>,
    pub cas: Vec<Arc<CaCertificate>>,
}

/// A certificate id (64 hex digits) as its 32-byte digest.
pub fn id_digest(id: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(id, &mut out).ok()?;
    Some(out)
}

impl CertificateSet {
    pub fn is_empty(&self) -> bool {
        self.pins.is_empty() && self.cas.is_empty()
    }

    /// How many entries (pins and CAs).
    pub fn len(&self) -> usize {
        self.pins.len() + self.cas.len()
    }

    /// Whether this certificate (a pinned leaf or a CA entry) is in the set.
    pub fn contains(&self, id: &str) -> bool {
        self.is_pinned(id) || self.cas.iter().any(|c| c.id == id)
    }

    /// Whether the leaf with this id (hex) is pinned.
    pub fn is_pinned(&self, id: &str) -> bool {
        id_digest(id).is_some_and(|digest| self.pins.binary_search(&digest).is_ok())
    }

    /// Takes a certificate out of the set (pin or CA).
    pub fn remove(&mut self, id: &str) {
        if let Some(digest) = id_digest(id) {
            if let Ok(at) = self.pins.binary_search(&digest) {
                self.pins.remove(at);
            }
        }
        self.cas.retain(|c| c.id != id);
    }

    pub fn add(&mut self, certificate: &CertificateInput) {
        if certificate.is_ca {
            if !self.cas.iter().any(|c| c.id == certificate.id) {
                self.cas.push(Arc::new(CaCertificate { id: certificate.id.clone(), der: certificate.der.clone() }));
            }
        } else if let Some(digest) = id_digest(&certificate.id) {
            if let Err(at) = self.pins.binary_search(&digest) {
                self.pins.insert(at, digest);
            }
        }
    }
}

/// How an API authenticates callers, compiled.
#[derive(Debug)]
pub enum AuthView {
    AuthToken,
    Jwt(Box<JwtVerifier>),
    None,
    /// The stored settings cannot be compiled (should not happen: they are checked on write).
    /// Every request is refused rather than let through.
    Misconfigured,
}

/// How the gateway verifies an https upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamTrust {
    /// The system's roots.
    SystemRoots,
    /// A CA certificate from the store (checked on write: CA:TRUE with keyCertSign).
    Ca(Arc<CaCertificate>),
    /// Exactly this certificate (its SHA-256), for a self-signed upstream; never an anchor.
    Pin { id: String, digest: [u8; 32] },
    /// The configured certificate is gone or unusable: refuse to connect rather than fall
    /// back to weaker trust.
    Unusable,
}

impl UpstreamTrust {
    fn of<'c>(spec: &ApiSpec, certificates: &CertificateLookup<'c>) -> UpstreamTrust {
        match (&spec.upstream_ca, &spec.upstream_pin) {
            // Checked again here, not only on write: a leaf stored as upstream CA by an older
            // build must not become a trust anchor.
            (Some(id), _) => match certificates(id) {
                Some(c) if crate::pki::parse_der(&c.der).is_ok_and(|f| crate::pki::can_sign_certificates(&f)) => {
                    UpstreamTrust::Ca(Arc::new(CaCertificate { id: c.id.clone(), der: c.der.clone() }))
                }
                _ => UpstreamTrust::Unusable,
            },
            (None, Some(id)) => match id_digest(id) {
                Some(digest) if certificates(id).is_some() => UpstreamTrust::Pin { id: id.clone(), digest },
                _ => UpstreamTrust::Unusable,
            },
            (None, None) => UpstreamTrust::SystemRoots,
        }
    }

    /// Tells cached upstream clients apart: the kind of trust is part of the key, so a
    /// certificate used as a CA by one API and as a pin by another never shares a client.
    pub fn cache_key(&self) -> String {
        match self {
            UpstreamTrust::SystemRoots => "system".to_string(),
            UpstreamTrust::Ca(ca) => format!("ca:{}", ca.id),
            UpstreamTrust::Pin { id, .. } => format!("pin:{id}"),
            UpstreamTrust::Unusable => "unusable".to_string(),
        }
    }
}

/// One API, ready for requests.
#[derive(Debug)]
pub struct ApiView {
    pub id: String,
    pub name: String,
    pub listen_path: String,
    pub upstream: Upstream,
    /// How an https upstream's certificate is verified.
    pub upstream_trust: UpstreamTrust,
    pub strip_listen_path: bool,
    /// Shared between the snapshots that only change allow lists.
    pub auth: Arc<AuthView>,
    pub mtls_required: bool,
    /// The effective allow list: the admin's entries and what credentials contribute.
    pub allowed: CertificateSet,
    pub identity_header: Option<String>,
    /// The API's own header patterns to drop (beside the families every API drops).
    pub strip_headers: Vec<HeaderPattern>,
    pub timeouts: TimeoutsSpec,
    pub max_body_bytes: u64,
}

impl ApiView {
    /// A copy sharing the compiled authentication (the allow list is then replaced).
    fn shallow_clone(&self) -> ApiView {
        ApiView {
            id: self.id.clone(),
            name: self.name.clone(),
            listen_path: self.listen_path.clone(),
            upstream: self.upstream.clone(),
            upstream_trust: self.upstream_trust.clone(),
            strip_listen_path: self.strip_listen_path,
            auth: Arc::clone(&self.auth),
            mtls_required: self.mtls_required,
            allowed: CertificateSet::default(),
            identity_header: self.identity_header.clone(),
            strip_headers: self.strip_headers.clone(),
            timeouts: self.timeouts,
            max_body_bytes: self.max_body_bytes,
        }
    }
}

/// One credential (Auth Token), ready for requests. The key map holds one per token (100,000
/// and more), so what many credentials have in common is shared ([`KeyTerms`]) and ids are
/// kept compact: a credential costs about 90 bytes here beside its map entry.
#[derive(Debug)]
pub struct KeyView {
    pub id: CompactId,
    /// When it stops working (Unix seconds; `i64::MAX`: never). Not an `Option`: 8 bytes less
    /// per credential.
    expires_at: i64,
    /// What rate and quota are counted by when it is not the key's id: a portal credential's
    /// subscription, so that rotating its token or changing its plan resets nothing.
    pub limits_key: Option<CompactId>,
    pub terms: Arc<KeyTerms>,
    /// A portal credential's app and organisation (for the access log); `None` for admin keys.
    /// Shared by the entries of one app: 8 bytes a key.
    pub owner: Option<Arc<KeyOwner>>,
}

/// The app and organisation a portal credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyOwner {
    pub app: CompactId,
    pub organisation: CompactId,
}

/// What a credential grants: its APIs, binding and limits. Shared between credentials with the
/// same ones (a Managed organisation's credentials on one product and plan share one).
#[derive(Debug)]
pub struct KeyTerms {
    /// The API ids it grants (few: a list is smaller than a set).
    pub apis: Arc<[String]>,
    /// `None`: not bound. `Some(set)`: works only with these certificates (empty: never).
    pub binding: Option<Arc<CertificateSet>>,
    pub rate: Option<Rate>,
    pub quota: Option<Quota>,
}

impl KeyView {
    /// Whether it has stopped working at `now`.
    pub fn expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }

    /// The counter rate limits and quotas use for this key.
    pub fn limits_key(&self) -> &CompactId {
        self.limits_key.as_ref().unwrap_or(&self.id)
    }
}

/// API lists, binding sets and terms already built, so that keys granting the same APIs, bound
/// to the same certificates or with the same terms share one.
#[derive(Default)]
pub struct ApiLists {
    lists: std::collections::HashSet<Arc<[String]>>,
    bindings: HashMap<Vec<String>, Arc<CertificateSet>>,
    terms: HashMap<TermsKey, Arc<KeyTerms>>,
    owners: std::collections::HashSet<Arc<KeyOwner>>,
}

/// Terms by the addresses of their shared API list and binding set (both kept alive by
/// [`ApiLists`], so an address names one list) and their limits.
type TermsKey = (usize, usize, Option<Rate>, Option<Quota>);

impl ApiLists {
    fn owner(&mut self, owner: KeyOwner) -> Arc<KeyOwner> {
        if let Some(shared) = self.owners.get(&owner) {
            return Arc::clone(shared);
        }
        let shared = Arc::new(owner);
        self.owners.insert(Arc::clone(&shared));
        shared
    }

    pub fn share(&mut self, apis: Vec<String>) -> Arc<[String]> {
        if let Some(list) = self.lists.get(apis.as_slice()) {
            return Arc::clone(list);
        }
        let list: Arc<[String]> = apis.into();
        self.lists.insert(Arc::clone(&list));
        list
    }

    fn binding<'c>(&mut self, ids: Vec<String>, certificates: &CertificateLookup<'c>) -> Arc<CertificateSet> {
        if let Some(set) = self.bindings.get(&ids) {
            return Arc::clone(set);
        }
        let set = Arc::new(set_of(&ids, certificates));
        self.bindings.insert(ids, Arc::clone(&set));
        set
    }

    fn terms<'c>(&mut self, spec: KeySpec, certificates: &CertificateLookup<'c>) -> Arc<KeyTerms> {
        let apis = self.share(spec.apis);
        let binding = spec.bound_certificates.map(|ids| self.binding(ids, certificates));
        let address = (Arc::as_ptr(&apis).cast::<u8>() as usize, binding.as_ref().map_or(0, |b| Arc::as_ptr(b) as usize), spec.rate, spec.quota);
        let terms = self.terms.entry(address).or_insert_with(|| Arc::new(KeyTerms { apis, binding, rate: spec.rate, quota: spec.quota }));
        Arc::clone(terms)
    }
}

/// Inputs to [`GatewayView::build`], as the store holds them.
pub struct ApiInput {
    pub id: String,
    pub spec: ApiSpec,
    /// Certificate ids the live portal credentials of products containing this API add to the
    /// admin's allow list (portal `derive::allow_list_contributions`).
    pub contributed_certificates: Vec<String>,
}

pub struct KeyInput {
    pub id: String,
    pub token_sha256: String,
    pub spec: KeySpec,
    /// What limits count by when not the key's id (a portal credential's subscription).
    pub limits_key: Option<String>,
    /// A portal credential's (app, organisation).
    pub owner: Option<(String, String)>,
}

/// Finds a certificate by id for a view being built.
pub type CertificateLookup<'c> = dyn Fn(&str) -> Option<&'c CertificateInput> + 'c;

pub struct CertificateInput {
    pub id: String,
    pub is_ca: bool,
    pub der: Vec<u8>,
}

/// Credentials by the SHA-256 of their token (32 bytes): a concurrent map beside the snapshot,
/// updated one key at a time (a new key never rebuilds the snapshot).
pub type KeyMap = dashmap::DashMap<[u8; 32], Arc<KeyView>>;

/// The set of these certificates (unknown ids left out). Pins are sorted once at the end, not
/// inserted in order one by one: an allow list can hold 100,000 of them.
fn set_of<'c, 'i>(ids: impl IntoIterator<Item = &'i String>, certificates: &CertificateLookup<'c>) -> CertificateSet {
    let mut set = CertificateSet::default();
    for c in ids.into_iter().filter_map(|id| certificates(id)) {
        match id_digest(&c.id) {
            Some(digest) if !c.is_ca => set.pins.push(digest),
            _ => set.add(c),
        }
    }
    set.pins.sort_unstable();
    set.pins.dedup();
    set.pins.shrink_to_fit();
    set
}

impl KeyView {
    /// Compiles a stored key; returns it with the digest it is looked up by (a corrupt stored
    /// hash gives a digest no token has).
    pub fn build(input: KeyInput, certificates: &HashMap<String, CertificateInput>) -> ([u8; 32], Arc<KeyView>) {
        KeyView::build_sharing(input, certificates, &mut ApiLists::default())
    }

    /// [`KeyView::build`], reusing identical API lists from `lists` (a bulk load of many keys).
    pub fn build_sharing(
        input: KeyInput,
        certificates: &HashMap<String, CertificateInput>,
        lists: &mut ApiLists,
    ) -> ([u8; 32], Arc<KeyView>) {
        KeyView::build_sharing_with(input, &|id| certificates.get(id), lists)
    }

    /// [`KeyView::build_sharing`] with the certificates found by `certificates`.
    pub fn build_sharing_with<'c>(input: KeyInput, certificates: &CertificateLookup<'c>, lists: &mut ApiLists) -> ([u8; 32], Arc<KeyView>) {
        let view = KeyView {
            id: input.id.into(),
            expires_at: input.spec.expires_at.unwrap_or(i64::MAX),
            limits_key: input.limits_key.map(CompactId::from),
            terms: lists.terms(input.spec, certificates),
            owner: input.owner.map(|(app, organisation)| lists.owner(KeyOwner { app: app.into(), organisation: organisation.into() })),
        };
        (id_digest(&input.token_sha256).unwrap_or([0xff; 32]), Arc::new(view))
    }
}

/// The snapshot of API definitions, rebuilt when an API or a certificate it uses changes.
#[derive(Debug, Default)]
pub struct GatewayView {
    /// Increases with every published snapshot; per-connection caches are keyed by it.
    pub generation: u64,
    /// Longest listen path first, so the first match is the longest.
    pub apis: Vec<Arc<ApiView>>,
}

impl GatewayView {
    /// The effective allow list of each API is the admin's entries plus the certificates its
    /// portal credentials contribute (`ApiInput::contributed_certificates`). Admin keys'
    /// bindings restrict a key; they never widen an API's list.
    pub fn build(generation: u64, apis: Vec<ApiInput>, certificates: &HashMap<String, CertificateInput>) -> GatewayView {
        GatewayView::build_with(generation, apis, &|id| certificates.get(id))
    }

    /// [`GatewayView::build`] with the certificates found by `certificates` (the services keep
    /// the contributed ones between builds rather than reading them all again).
    pub fn build_with<'c>(generation: u64, apis: Vec<ApiInput>, certificates: &CertificateLookup<'c>) -> GatewayView {
        let mut api_views: Vec<Arc<ApiView>> = apis
            .iter()
            .filter_map(|input| {
                let spec = &input.spec;
                let upstream = Upstream::parse(&spec.upstream_url).ok()?;
                // The effective allow list: the admin's entries and what portal credentials
                // contribute. Neither side can remove the other's entries.
                let allowed = set_of(spec.mtls.allowed_certificates.iter().chain(&input.contributed_certificates), certificates);
                let auth = match (spec.auth, &spec.jwt) {
                    (AuthKind::AuthToken, _) => AuthView::AuthToken,
                    (AuthKind::None, _) => AuthView::None,
                    (AuthKind::Jwt, Some(jwt)) => JwtVerifier::new(jwt).map(|v| AuthView::Jwt(Box::new(v))).unwrap_or(AuthView::Misconfigured),
                    (AuthKind::Jwt, None) => AuthView::Misconfigured,
                };
                Some(Arc::new(ApiView {
                    id: input.id.clone(),
                    name: spec.name.clone(),
                    listen_path: spec.listen_path.clone(),
                    upstream,
                    upstream_trust: UpstreamTrust::of(spec, certificates),
                    strip_listen_path: spec.strip_listen_path,
                    auth: Arc::new(auth),
                    mtls_required: spec.mtls.required,
                    allowed,
                    identity_header: spec.identity_header.clone(),
                    strip_headers: spec.strip_request_headers.iter().filter_map(|p| HeaderPattern::parse(p).ok()).collect(),
                    timeouts: spec.timeouts,
                    max_body_bytes: spec.max_body_bytes,
                }))
            })
            .collect();
        api_views.sort_by(|a, b| b.listen_path.len().cmp(&a.listen_path.len()).then_with(|| a.listen_path.cmp(&b.listen_path)));
        GatewayView { generation, apis: api_views }
    }

    /// The same APIs with some allow lists changed (`changed` answers the new set of an API
    /// whose list changes): a portal write that only moves certificates in or out of allow
    /// lists edits those sets instead of compiling every API again.
    pub fn with_allow_lists(&self, generation: u64, changed: &dyn Fn(&ApiView) -> Option<CertificateSet>) -> GatewayView {
        let apis = self
            .apis
            .iter()
            .map(|api| match changed(api) {
                Some(allowed) => Arc::new(ApiView { allowed, ..api.shallow_clone() }),
                None => Arc::clone(api),
            })
            .collect();
        GatewayView { generation, apis }
    }

    /// The API whose listen path is the longest prefix of `path` on a segment boundary.
    pub fn route(&self, path: &str) -> Option<&Arc<ApiView>> {
        self.apis.iter().find(|api| listen_path_matches(&api.listen_path, path))
    }
}

/// `/a` matches `/a` and `/a/x`, never `/ab`; `/` matches everything.
pub fn listen_path_matches(listen_path: &str, path: &str) -> bool {
    if listen_path == "/" {
        return true;
    }
    match path.strip_prefix(listen_path) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// The path to request upstream: the listen path stripped (if configured) and appended to
/// the upstream's base path. `path_and_query` is the client's, e.g. `/orders/1?x=y`.
pub fn upstream_path(api: &ApiView, path_and_query: &str) -> String {
    let rest = if api.strip_listen_path && api.listen_path != "/" {
        path_and_query.strip_prefix(api.listen_path.as_str()).unwrap_or(path_and_query)
    } else {
        path_and_query
    };
    let rest = if rest.is_empty() || rest.starts_with('?') { format!("/{rest}") } else { rest.to_string() };
    format!("{}{}", api.upstream.base_path, rest)
}
