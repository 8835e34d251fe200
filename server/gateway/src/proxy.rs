//! The gateway's request handler and reverse proxy.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use certgate_core::gateway::chain::WebpkiChainCheck;
use certgate_core::gateway::headers::is_stripped;
use certgate_core::gateway::view::{upstream_path, ApiView, AuthView, GatewayView, KeyMap, KeyOwner, UpstreamTrust};
use certgate_core::gateway::path::normalise_request_path;
use certgate_core::gateway::{bearer_token, check_client_certificate, decide, token_digest, Denial, DenialKind, Grant, Presented};
use certgate_core::UnixSeconds;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Uri, Version};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ipnet::IpNet;

use crate::access_log::{AccessLog, AccessRecord, LogFormat, LoggedBody, ShortId};
use crate::limits::{RateLimits, RateVerdict};
use crate::metrics::GatewayMetrics;
use crate::quotas::{QuotaUsage, QuotaVerdict, Quotas};
use crate::traffic::{certificate_digest, Traffic, TrafficConfig};
use crate::listener::{ConnectionInfo, TlsSession};
use crate::{denial_response, Body, BoxError};

type UpstreamClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>;

struct CachedClient {
    instance: u64,
    connect_ms: u64,
    trust_key: String,
    client: UpstreamClient,
}

static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Upstream clients of this thread (few: one per gateway, connect timeout and upstream CA).
    static UPSTREAM_CLIENTS: std::cell::RefCell<Vec<CachedClient>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Headers that describe one hop, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] =
    &["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

// Header names parsed once, not per request.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
const X_QUOTA_LIMIT: HeaderName = HeaderName::from_static("x-quota-limit");
const X_QUOTA_REMAINING: HeaderName = HeaderName::from_static("x-quota-remaining");
const X_QUOTA_RESET: HeaderName = HeaderName::from_static("x-quota-reset");

/// The gateway: the current view, limiter state and pooled upstream clients.
pub struct Gateway {
    view: Arc<ArcSwap<GatewayView>>,
    keys: Arc<KeyMap>,
    rates: RateLimits,
    quotas: Quotas,
    /// Tells this gateway's entries apart in the per-thread client cache.
    instance: u64,
    upstream_tls: rustls::ClientConfig,
    metrics: GatewayMetrics,
    /// Peers whose `X-Forwarded-For` is extended; from anyone else it is replaced.
    trusted_proxies: Vec<IpNet>,
    /// False while the view may lag behind a commit: every request is refused (fail closed).
    consistent: Arc<AtomicBool>,
    /// One line per request, when on.
    access_log: Option<Arc<AccessLog>>,
    /// Traffic series per API and app, and last seen per certificate and API.
    traffic: Arc<Traffic>,
}

/// Why a gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("upstream TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot start the access log's writer: {0}")]
    AccessLog(#[from] std::io::Error),
}

/// What handling a request learnt that the access log reports (filled whether or not it is on:
/// moving what the request path made anyway costs nothing).
#[derive(Default)]
struct Seen {
    /// The request path without its query (normalised when it could be).
    path: String,
    certificate: Option<ShortId>,
    credential: Option<ShortId>,
    owner: Option<Arc<KeyOwner>>,
    upstream: Option<Duration>,
    /// The certificate's SHA-256 when it passed the API's allow list (traffic's last seen).
    authenticated: Option<[u8; 32]>,
    /// When the request was admitted or refused (Unix seconds; 0 before routing).
    now: UnixSeconds,
}

fn unix_now() -> UnixSeconds {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Gateway {
    pub fn new(
        view: Arc<ArcSwap<GatewayView>>,
        keys: Arc<KeyMap>,
        trusted_proxies: Vec<IpNet>,
        consistent: Arc<AtomicBool>,
        access_log: Option<LogFormat>,
        traffic: TrafficConfig,
    ) -> Result<Arc<Gateway>, StartError> {
        let metrics = GatewayMetrics::default();
        let access_log = match access_log {
            // Standard output, beside the other logs on standard error: an access log is
            // usually kept or shipped apart from them.
            Some(format) => Some(AccessLog::start(format, Box::new(std::io::stdout()), metrics.access_log_dropped())?),
            None => None,
        };
        Ok(Arc::new(Gateway {
            view,
            keys,
            rates: RateLimits::default(),
            quotas: Quotas::default(),
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            upstream_tls: crate::tls::upstream_client_config()?,
            metrics,
            trusted_proxies,
            consistent,
            access_log,
            traffic: Arc::new(Traffic::new(traffic)),
        }))
    }

    /// The traffic series (the binary saves them and hands them to the portal).
    pub fn traffic(&self) -> &Arc<Traffic> {
        &self.traffic
    }

    /// Drops the traffic series of APIs no longer in the view (deleted: ids are never reused).
    /// Skipped while the view may lag behind a commit.
    pub fn forget_deleted_api_traffic(&self) {
        if !self.consistent.load(Ordering::SeqCst) {
            return;
        }
        let view = self.view.load();
        self.traffic.retain_apis(|id| view.apis.iter().any(|api| api.id == id));
    }

    /// Writes the access log's queued lines and stops its writer (at shutdown, after the
    /// listener has drained).
    pub fn finish_access_log(&self) {
        if let Some(log) = &self.access_log {
            log.finish();
        }
    }

    /// The gateway's metrics, to register with the binary's registry.
    pub fn metrics(&self) -> &GatewayMetrics {
        &self.metrics
    }

    /// Handles one request; every refusal is problem+json.
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let started = Instant::now();
        let generation = self.view.load().generation;
        let logged = self.access_log.as_ref().map(|_| (SystemTime::now(), request.method().clone()));
        let mut seen = Seen::default();
        let (api, response) = self.respond(request, &mut seen).await;
        let status = response.status().as_u16();
        let denial_kind = response.extensions().get::<DenialKind>().copied();
        let denial = denial_kind.map(DenialKind::code);
        let elapsed = started.elapsed();
        self.metrics.observe(api.as_deref(), status, denial, elapsed, generation);
        if let Some(api) = api.as_deref() {
            self.traffic.record(crate::traffic::Request {
                api_id: &api.id,
                status,
                denial: denial_kind,
                elapsed,
                app: seen.owner.as_deref().map(|o| &o.app),
                certificate: seen.authenticated.as_ref(),
                now: if seen.now > 0 { seen.now } else { unix_now() },
            });
        }
        let (Some(log), Some((at, method))) = (&self.access_log, logged) else { return Ok(response) };
        let record = AccessRecord {
            at,
            api,
            method,
            path: crate::access_log::logged_path(seen.path),
            status,
            denial,
            certificate: seen.certificate,
            credential: seen.credential,
            owner: seen.owner,
            upstream: seen.upstream,
            duration: elapsed,
            bytes: 0,
        };
        // The line is queued when the body is done (or dropped), with the bytes sent.
        Ok(response.map(|body| LoggedBody::new(body, record, Arc::clone(log)).boxed_unsync()))
    }

    async fn respond(&self, request: Request<Incoming>, seen: &mut Seen) -> (Option<Arc<ApiView>>, Response<Body>) {
        let info = request.extensions().get::<ConnectionInfo>().cloned();
        let peer_facts = info.as_ref().and_then(|i| i.session.as_deref()).and_then(|s| s.peer_certificate.as_ref()).and_then(|p| p.facts.as_ref());
        seen.certificate = peer_facts.map(|f| ShortId::certificate(&f.id));
        if !self.consistent.load(Ordering::SeqCst) {
            seen.path = request.uri().path().to_string();
            let denial = Denial::new(
                DenialKind::GatewayUnavailable,
                "The gateway cannot confirm that its configuration includes the latest changes; it refuses requests until it does.",
            );
            return (None, denial_response(&denial));
        }
        // One strict path: routed on, stripped and forwarded as is (see core's `path`).
        let path = match normalise_request_path(request.uri().path()) {
            Ok(path) => path,
            Err(why) => {
                seen.path = request.uri().path().to_string();
                tracing::debug!(peer = ?info.as_ref().map(|i| i.peer), "invalid request path refused");
                return (None, denial_response(&Denial::new(DenialKind::InvalidPath, why.reason())));
            }
        };
        let response = match self.admit(&request, &path, info.as_ref(), seen) {
            Ok((api, grant, limits)) => {
                // Upstream latency: from the proxy step to the upstream's response headers.
                let forwarded = Instant::now();
                let response = self.forward(request, &path, info.as_ref(), &api, &grant, limits).await;
                seen.upstream = Some(forwarded.elapsed());
                seen.path = path;
                seen.credential = grant.key_id.as_deref().map(ShortId::credential);
                seen.owner = grant.owner;
                (Some(api), response.unwrap_or_else(|denial| denial_response(&denial)))
            }
            Err(Refusal { denial, rate, quota, api, key }) => {
                let method = request.method();
                tracing::debug!(peer = ?info.as_ref().map(|i| i.peer), %method, %path, code = denial.kind.code(), "denied");
                seen.path = path;
                if let Some(RefusedKey { id, owner }) = key.map(|k| *k) {
                    seen.credential = Some(id);
                    seen.owner = owner;
                }
                let mut response = denial_response(&denial);
                if let Some(rate) = rate {
                    add_rate_headers(response.headers_mut(), rate);
                    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(rate.reset_seconds));
                }
                if let Some(quota) = quota {
                    add_quota_headers(response.headers_mut(), quota);
                    let wait = (quota.resets_at - unix_now()).max(1);
                    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
                }
                (api, response)
            }
        };
        response
    }

    /// Everything before the proxy: SNI/Host, route, mTLS (cached per connection), credential,
    /// binding, rate limit.
    fn admit(
        &self,
        request: &Request<Incoming>,
        path: &str,
        info: Option<&ConnectionInfo>,
        seen: &mut Seen,
    ) -> Result<(Arc<ApiView>, Grant, Limits), Refusal> {
        let now = unix_now();
        seen.now = now;
        let session = info.and_then(|i| i.session.as_deref());
        if let (Some(sni), Some(host)) = (session.and_then(|s| s.sni.as_deref()), request_host(request)) {
            if !host.eq_ignore_ascii_case(sni) {
                return Err(Denial::new(
                    DenialKind::MisdirectedRequest,
                    "The Host header does not match the server name (SNI) of this TLS connection.",
                )
                .into());
            }
        }
        let view = self.view.load_full();
        let api = view
            .route(path)
            .cloned()
            .ok_or_else(|| Denial::new(DenialKind::ApiNotFound, "No API is defined for this listen path."))?;
        let for_api = |denial: Denial| Refusal { api: Some(Arc::clone(&api)), ..Refusal::from(denial) };

        let peer = session.and_then(|s| s.peer_certificate.as_ref());
        let verdict = match session {
            Some(session) => cached_verdict(session, &view, &api, now),
            None => check_client_certificate(&api, None, now, &WebpkiChainCheck),
        };
        // Last seen counts a certificate that passed this API's allow list, whatever the later
        // steps decide (a wrong token or a spent quota still shows the certificate in use). An
        // API without mTLS authenticates no certificate. Only a leaf pinned in the allow list
        // is recorded: a leaf admitted through a CA entry is usually not in the store, and
        // recording it would let whoever holds that CA fill the last-seen cap with new leaves.
        if verdict.is_ok() && api.mtls_required && self.traffic.recording() {
            seen.authenticated = peer
                .and_then(|p| p.facts.as_ref())
                .filter(|f| api.allowed.is_pinned(&f.id))
                .and_then(|f| certificate_digest(&f.id));
        }
        let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let presented = Presented { bearer: bearer_token(authorization) };
        let grant = decide(&self.keys, &api, peer, presented, now, &WebpkiChainCheck, Some(verdict))
            .map_err(|denial| Refusal { key: self.refused_key(&api, &denial, presented.bearer), ..for_api(denial) })?;
        let key = || grant.key_id.as_deref().map(|id| Box::new(RefusedKey { id: ShortId::credential(id), owner: grant.owner.clone() }));
        let rate = match (&grant.limits_key, grant.rate) {
            (Some(limits_key), Some(rate)) => {
                let verdict = self.rates.check(limits_key, rate);
                if !verdict.allowed {
                    return Err(Refusal {
                        denial: Denial::new(
                            DenialKind::RateLimited,
                            format!("The credential's rate limit is exhausted; retry after {} s.", verdict.reset_seconds),
                        ),
                        rate: Some(verdict),
                        quota: None,
                        api: Some(Arc::clone(&api)),
                        key: key(),
                    });
                }
                Some(verdict)
            }
            _ => None,
        };
        let quota = match (&grant.limits_key, grant.quota) {
            (Some(limits_key), Some(quota)) => {
                let verdict = self.quotas.consume(limits_key, quota, now);
                if !verdict.allowed {
                    return Err(Refusal {
                        denial: Denial::new(DenialKind::QuotaExceeded, "The credential's quota for this period is used up."),
                        rate,
                        quota: Some(verdict),
                        api: Some(Arc::clone(&api)),
                        key: key(),
                    });
                }
                Some(verdict)
            }
            _ => None,
        };
        Ok((api, grant, Limits { rate, quota }))
    }

    /// The credential an Auth Token denial was about, for the access log and the app's traffic: a token that is known
    /// but expired, not for this API or bound elsewhere (a second look-up, on refusals only).
    fn refused_key(&self, api: &ApiView, denial: &Denial, bearer: Option<&str>) -> Option<Box<RefusedKey>> {
        let about_key = matches!(
            denial.kind,
            DenialKind::CredentialInvalid | DenialKind::ApiNotGranted | DenialKind::CertificateBindingMismatch
        );
        let wanted = self.access_log.is_some() || self.traffic.recording();
        if !wanted || !about_key || !matches!(*api.auth, AuthView::AuthToken) {
            return None;
        }
        let key = self.keys.get(&token_digest(bearer?)).map(|entry| Arc::clone(entry.value()))?;
        Some(Box::new(RefusedKey { id: ShortId::credential(&key.id.as_string()), owner: key.owner.clone() }))
    }

    /// The quota usage counted for a limits key (a subscription, or an admin key), for display.
    pub fn quota_usage(&self, limits_key: &str) -> Option<QuotaUsage> {
        self.quotas.usage(limits_key)
    }

    /// Quota counters changed since the last call (the binary saves them in batches).
    pub fn take_changed_quota_usage(&self) -> Vec<(String, QuotaUsage)> {
        self.quotas.take_changed()
    }

    /// Marks counters for another save attempt after a failed batch.
    pub fn retry_quota_usage(&self, keys: impl IntoIterator<Item = String>) {
        self.quotas.mark_changed(keys);
    }

    /// Loads saved quota usage (at start-up, before serving).
    pub fn load_quota_usage(&self, saved: impl IntoIterator<Item = (String, QuotaUsage)>) {
        self.quotas.load(saved);
    }

    /// Limits keys with limiter state but no entry in the credential map now. Each has ended (a
    /// revoked key, an ended subscription) or is only dormant (a suspended organisation, a
    /// token expired before the next is minted) and must keep its count: only the store can
    /// tell, so the binary asks it and passes the ended ones to [`Gateway::forget_limits`].
    pub fn unlisted_limits_keys(&self) -> Vec<String> {
        let live: std::collections::HashSet<String> = self.keys.iter().map(|k| k.value().limits_key().to_string()).collect();
        let mut unlisted: Vec<String> = self.rates.ids().into_iter().chain(self.quotas.ids()).filter(|id| !live.contains(id)).collect();
        unlisted.sort_unstable();
        unlisted.dedup();
        unlisted
    }

    /// Drops the limiter state of limits keys that ended (ids are never reused).
    pub fn forget_limits(&self, ended: &[String]) {
        if ended.is_empty() {
            return;
        }
        let ended: std::collections::HashSet<&str> = ended.iter().map(String::as_str).collect();
        self.rates.retain(|id| !ended.contains(id));
        self.quotas.retain(|id| !ended.contains(id));
    }

    /// The pooled upstream client for this API's connect timeout and CA, one per thread: a
    /// pooled connection's task runs where it was opened, so sharing a pool across worker
    /// threads would bring back the cross-thread wake-ups the worker pool avoids.
    fn client(&self, api: &ApiView) -> Result<UpstreamClient, Denial> {
        let connect_ms = api.timeouts.connect_ms;
        let trust_key = api.upstream_trust.cache_key();
        let cached = UPSTREAM_CLIENTS.with_borrow(|clients| {
            clients
                .iter()
                .find(|c| c.instance == self.instance && c.connect_ms == connect_ms && c.trust_key == trust_key)
                .map(|c| c.client.clone())
        });
        if let Some(client) = cached {
            return Ok(client);
        }
        let unusable = |why: String| {
            tracing::error!(api = %api.id, error = %why, "the upstream's trust settings are not usable");
            Denial::new(DenialKind::UpstreamUnavailable, "The upstream's certificate settings are not usable; the API's owner has to fix them.")
        };
        let tls = match &api.upstream_trust {
            UpstreamTrust::SystemRoots => self.upstream_tls.clone(),
            UpstreamTrust::Ca(ca) => crate::tls::upstream_client_config_with_ca(&ca.der).map_err(|e| unusable(e.to_string()))?,
            UpstreamTrust::Pin { digest, .. } => crate::tls::upstream_client_config_with_pin(*digest).map_err(|e| unusable(e.to_string()))?,
            UpstreamTrust::Unusable => return Err(unusable("the configured certificate is not in the store".into())),
        };
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(Duration::from_millis(connect_ms)));
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client: UpstreamClient = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(1024)
            .build(connector);
        UPSTREAM_CLIENTS.with_borrow_mut(|clients| {
            clients.push(CachedClient {
                instance: self.instance,
                connect_ms,
                trust_key,
                client: client.clone(),
            })
        });
        Ok(client)
    }

    async fn forward(
        &self,
        mut request: Request<Incoming>,
        path: &str,
        info: Option<&ConnectionInfo>,
        api: &ApiView,
        grant: &Grant,
        limits: Limits,
    ) -> Result<Response<Body>, Denial> {
        let too_large = || Denial::new(DenialKind::BodyTooLarge, format!("The request body exceeds {} bytes.", api.max_body_bytes));
        let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > api.max_body_bytes) {
            return Err(too_large());
        }
        // A protocol upgrade (WebSocket): both sides' connections are joined after a 101.
        let upgrade = upgrade_protocol(request.headers());
        let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut request));
        let (mut parts, body) = request.into_parts();
        let original_host = request_host_of(&parts.uri, &parts.headers).map(str::to_string);
        let path_and_query = match parts.uri.query() {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        let scheme = if api.upstream.https { "https" } else { "http" };
        let uri: Uri = format!("{scheme}://{}{}", api.upstream.authority, upstream_path(api, &path_and_query))
            .parse()
            .map_err(|_| Denial::new(DenialKind::UpstreamUnavailable, "The upstream address cannot be formed for this path."))?;
        prepare_upstream_headers(&mut parts.headers, api, grant, info, original_host.as_deref(), &self.trusted_proxies);
        if let Some(protocol) = &upgrade {
            parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            parts.headers.insert(header::UPGRADE, protocol.clone());
        }
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        let limit = usize::try_from(api.max_body_bytes).unwrap_or(usize::MAX);
        let body: Body = Limited::new(body, limit).map_err(BoxError::from).boxed_unsync();
        let upstream_request = Request::from_parts(parts, body);

        let budget = Duration::from_millis(api.timeouts.connect_ms + api.timeouts.response_ms);
        let client = self.client(api)?;
        let response = match tokio::time::timeout(budget, client.request(upstream_request)).await {
            Err(_) => return Err(Denial::new(DenialKind::UpstreamTimeout, "The upstream did not answer in time.")),
            Ok(Err(e)) => {
                if source_is::<http_body_util::LengthLimitError>(&e) {
                    return Err(too_large());
                }
                if source_is_timeout(&e) {
                    return Err(Denial::new(DenialKind::UpstreamTimeout, "The upstream did not accept the connection in time."));
                }
                tracing::warn!(api = %api.id, error = %e, "upstream request failed");
                return Err(Denial::new(DenialKind::UpstreamUnavailable, "The upstream is not reachable."));
            }
            Ok(Ok(response)) => response,
        };
        let mut response = response;
        let switching = response.status() == http::StatusCode::SWITCHING_PROTOCOLS;
        let upstream_upgrade = match (switching, &upgrade) {
            (true, Some(_)) => Some(hyper::upgrade::on(&mut response)),
            _ => None,
        };
        let (mut parts, body) = response.into_parts();
        let upgraded_protocol = parts.headers.get(header::UPGRADE).cloned();
        remove_hop_by_hop(&mut parts.headers);
        if let (Some(upstream_upgrade), Some(client_upgrade), Some(protocol)) = (upstream_upgrade, client_upgrade, upgraded_protocol) {
            parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            parts.headers.insert(header::UPGRADE, protocol);
            let api_id = api.id.clone();
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client, upstream)) => {
                        let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                    Err(e) => tracing::debug!(api = %api_id, error = %e, "protocol upgrade failed"),
                }
            });
        }
        if let Some(rate) = limits.rate {
            add_rate_headers(&mut parts.headers, rate);
        }
        if let Some(quota) = limits.quota {
            add_quota_headers(&mut parts.headers, quota);
        }
        Ok(Response::from_parts(parts, body.map_err(BoxError::from).boxed_unsync()))
    }
}

/// A refusal before the proxy, with the limit state when a limit was the reason.
struct Refusal {
    denial: Denial,
    rate: Option<RateVerdict>,
    quota: Option<QuotaVerdict>,
    /// The API the request was routed to, if any (for metrics).
    api: Option<Arc<ApiView>>,
    /// The credential refused, when known (for the access log; boxed: refusals stay small).
    key: Option<Box<RefusedKey>>,
}

/// A refused request's credential: its id's prefix and a portal credential's owner.
struct RefusedKey {
    id: ShortId,
    owner: Option<Arc<KeyOwner>>,
}

impl From<Denial> for Refusal {
    fn from(denial: Denial) -> Self {
        Refusal { denial, rate: None, quota: None, api: None, key: None }
    }
}

/// The limit state of a granted request, reported in the response headers.
#[derive(Debug, Clone, Copy)]
struct Limits {
    rate: Option<RateVerdict>,
    quota: Option<QuotaVerdict>,
}

/// The mTLS verdict for this connection and API, computed once per snapshot generation and
/// bounded in time by the leaf's validity.
fn cached_verdict(session: &TlsSession, view: &GatewayView, api: &ApiView, now: UnixSeconds) -> Result<(), Denial> {
    let peer = session.peer_certificate.as_ref();
    let compute = || check_client_certificate(api, peer, now, &WebpkiChainCheck);
    let Ok(mut cache) = session.verdicts.lock() else { return compute() };
    if cache.generation != view.generation {
        cache.by_api.clear();
        cache.generation = view.generation;
    }
    if let Some((verdict, until)) = cache.by_api.get(&api.id) {
        if now < *until {
            return verdict.clone();
        }
    }
    let verdict = compute();
    let mut until = now + 300;
    if let Some(facts) = peer.and_then(|p| p.facts.as_ref()) {
        until = until.min(facts.not_after + 1);
        if facts.not_before > now {
            until = until.min(facts.not_before);
        }
    }
    cache.by_api.insert(api.id.clone(), (verdict.clone(), until));
    verdict
}

/// The host the request is for (HTTP/2: the URI's authority; HTTP/1.1: the Host header),
/// without the port.
fn request_host<B>(request: &Request<B>) -> Option<&str> {
    request_host_of(request.uri(), request.headers())
}

fn request_host_of<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    let raw = match uri.authority() {
        Some(a) => a.as_str(),
        None => headers.get(header::HOST)?.to_str().ok()?,
    };
    let host = if let Some(rest) = raw.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        raw.rsplit_once(':').map(|(h, _)| h).unwrap_or(raw)
    };
    Some(host)
}

/// Removes, in one pass over the names, every header `doomed` picks and every header the
/// `Connection` header lists (RFC 9110 §7.6.1).
fn strip_headers(headers: &mut HeaderMap, doomed: impl Fn(&HeaderName) -> bool) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| HOP_BY_HOP.contains(&name.as_str()) || listed.contains(name) || doomed(name))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    strip_headers(headers, |_| false);
}

/// What the upstream sees: hop-by-hop headers and the client-sent header families of core's
/// `headers` removed (certificate, routing and address overrides, names with `_`, the API's own
/// patterns), the Auth Token removed (it is the gateway's credential), `X-Forwarded-*` set,
/// and the verified identity in the configured header.
fn prepare_upstream_headers(
    headers: &mut HeaderMap,
    api: &ApiView,
    grant: &Grant,
    info: Option<&ConnectionInfo>,
    original_host: Option<&str>,
    trusted_proxies: &[IpNet],
) {
    // Read before stripping (the `X-Forwarded-*` family goes): only a trusted proxy's list is
    // kept; from anyone else it would be a forged address. Several lines are one comma-joined
    // list (RFC 9110 §5.3).
    let forwarded_for = info.map(|info| {
        let client_ip = match info.peer.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        let trusted = trusted_proxies.iter().any(|net| net.contains(&client_ip));
        let previous: Vec<&str> = headers.get_all(X_FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok()).collect();
        if trusted && !previous.is_empty() {
            format!("{}, {client_ip}", previous.join(", "))
        } else {
            client_ip.to_string()
        }
    });
    let strip_token = matches!(*api.auth, AuthView::AuthToken);
    let identity_header = api.identity_header.as_deref();
    strip_headers(headers, |name| {
        is_stripped(name.as_str(), identity_header, &api.strip_headers) || (strip_token && name == header::AUTHORIZATION)
    });
    if let Ok(host) = HeaderValue::from_str(&api.upstream.authority) {
        headers.insert(header::HOST, host);
    }
    if let Some(value) = forwarded_for.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(X_FORWARDED_FOR, value);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
    if let Some(value) = original_host.and_then(|h| HeaderValue::from_str(h).ok()) {
        headers.insert(X_FORWARDED_HOST, value);
    }
    if let Some(name) = &api.identity_header {
        if let Some(value) = identity_value(grant) {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
                headers.insert(name, value);
            }
        }
    }
}

/// `Hash=<certificate id>;Subject="<subject>";Key=<key id>;Sub=<jwt identity>`, the parts known.
fn identity_value(grant: &Grant) -> Option<String> {
    let quote = |s: &str| s.chars().filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\').collect::<String>();
    let mut parts = Vec::new();
    if let Some(id) = &grant.certificate_id {
        parts.push(format!("Hash={id}"));
    }
    if let Some(subject) = &grant.certificate_subject {
        parts.push(format!("Subject=\"{}\"", quote(subject)));
    }
    if let Some(key) = &grant.key_id {
        parts.push(format!("Key={key}"));
    }
    if let Some(sub) = &grant.jwt_identity {
        parts.push(format!("Sub=\"{}\"", quote(sub)));
    }
    (!parts.is_empty()).then(|| parts.join(";"))
}

pub(crate) fn add_rate_headers(headers: &mut HeaderMap, rate: RateVerdict) {
    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(rate.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(rate.remaining));
    headers.insert(X_RATELIMIT_RESET, HeaderValue::from(rate.reset_seconds));
}

/// The protocol a request asks to upgrade to (`Connection: upgrade` with `Upgrade: ...`).
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if asks {
        headers.get(header::UPGRADE).cloned()
    } else {
        None
    }
}

fn add_quota_headers(headers: &mut HeaderMap, quota: QuotaVerdict) {
    headers.insert(X_QUOTA_LIMIT, HeaderValue::from(quota.limit));
    headers.insert(X_QUOTA_REMAINING, HeaderValue::from(quota.remaining));
    headers.insert(X_QUOTA_RESET, HeaderValue::from(quota.resets_at));
}

fn source_is<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.is::<E>() {
            return true;
        }
        current = e.source();
    }
    false
}

fn source_is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
            return true;
        }
        current = e.source();
    }
    false
}
