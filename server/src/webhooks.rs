//! The webhook delivery worker: sends what the store's outbox says is due, signed per Standard
//! Webhooks, and records each attempt's outcome (the services decide retries and disabling).
//!
//! Redirects are not followed (hyper's client never does; a 3xx is a failed attempt). The
//! answer's body is never read or shown: only its status code is kept.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certgate_services::clock;
use certgate_services::webhooks::signature::sign;
use certgate_services::webhooks::{Attempt, DueDelivery, RetryPolicy, Webhooks};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinSet;

type WebhookClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How often and how many at once.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// How often the outbox is read.
    pub poll: Duration,
    /// One attempt's limit (connect, send, answer's head).
    pub timeout: Duration,
    /// Attempts in flight at once (one per endpoint: a slow endpoint does not hold up the others).
    pub concurrency: usize,
    /// How long an endpoint is held back after its outcome could not be recorded.
    pub record_backoff: Duration,
}

impl WorkerConfig {
    /// Polls every second, or as often as the first retry's wait when that is shorter (tests).
    pub fn for_policy(policy: RetryPolicy) -> WorkerConfig {
        let poll = Duration::from_millis(u64::try_from(policy.base_ms).unwrap_or(1000).clamp(20, 1000));
        WorkerConfig { poll, timeout: Duration::from_secs(10), concurrency: 16, record_backoff: poll * 30 }
    }
}

fn client(timeout: Duration) -> Option<WebhookClient> {
    let tls = match certgate_gateway::tls::upstream_client_config() {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(error = %e, "no TLS settings for webhook deliveries: webhooks are not sent");
            return None;
        }
    };
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout));
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Some(Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector))
}

/// The endpoints with an attempt in flight, and those held back after their outcome could not
/// be recorded (a store error: sending again at once would only repeat it).
#[derive(Default)]
struct Busy {
    in_flight: HashSet<String>,
    held: HashMap<String, Instant>,
}

impl Busy {
    fn is_busy(&self, endpoint: &str) -> bool {
        self.in_flight.contains(endpoint) || self.held.get(endpoint).is_some_and(|until| Instant::now() < *until)
    }
}

/// An endpoint's slot: freed when its task ends however it ends (a panic included), held back
/// for a while if the outcome was not recorded.
struct Slot {
    busy: Arc<Mutex<Busy>>,
    endpoint: String,
    hold: Option<Duration>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = lock(&self.busy);
        busy.in_flight.remove(&self.endpoint);
        if let Some(hold) = self.hold {
            busy.held.insert(self.endpoint.clone(), Instant::now() + hold);
        }
    }
}

/// Runs until aborted. Deliveries in flight when it is aborted are still queued in the store.
/// Reads the outbox again at once when a task ends (its endpoint may have more), else every
/// `poll`.
pub async fn deliver(webhooks: Webhooks, config: WorkerConfig) {
    let Some(client) = client(config.timeout) else { return };
    let busy: Arc<Mutex<Busy>> = Arc::default();
    let mut tasks = JoinSet::new();
    loop {
        let room = {
            let mut state = lock(&busy);
            let now = Instant::now();
            state.held.retain(|_, until| now < *until);
            config.concurrency.saturating_sub(state.in_flight.len())
        };
        if room > 0 {
            let check = Arc::clone(&busy);
            match webhooks.due(clock::now_ms(), room, move |endpoint| lock(&check).is_busy(endpoint)).await {
                Ok(due) => {
                    for delivery in due {
                        lock(&busy).in_flight.insert(delivery.endpoint.clone());
                        let mut slot = Slot { busy: Arc::clone(&busy), endpoint: delivery.endpoint.clone(), hold: None };
                        let (client, webhooks) = (client.clone(), webhooks.clone());
                        tasks.spawn(async move {
                            let (seq, id) = (delivery.seq, delivery.id.clone());
                            let attempt = attempt(&client, delivery, config.timeout).await;
                            if let Err(e) = webhooks.record_attempt(seq, &id, attempt, clock::now_ms()).await {
                                // Still queued: sent again (at least once), after a pause.
                                tracing::warn!(error = %e, "recording a webhook attempt failed; holding its endpoint back");
                                slot.hold = Some(config.record_backoff);
                            }
                            drop(slot);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading the webhook outbox failed; retrying"),
            }
        }
        tokio::select! {
            Some(ended) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = ended {
                    tracing::error!(error = %e, "a webhook delivery task failed");
                }
            }
            _ = tokio::time::sleep(config.poll) => {}
        }
    }
}

fn lock(busy: &Mutex<Busy>) -> std::sync::MutexGuard<'_, Busy> {
    busy.lock().unwrap_or_else(|p| p.into_inner())
}

/// One signed POST; its status code, or why there was none.
async fn attempt(client: &WebhookClient, delivery: DueDelivery, timeout: Duration) -> Attempt {
    let at_ms = clock::now_ms();
    let started = Instant::now();
    let finish = |status: Option<u16>, error: Option<String>| Attempt {
        at_ms,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        status,
        error,
    };
    let timestamp = at_ms / 1000;
    let signature = match sign(&delivery.secret, &delivery.id, timestamp, delivery.payload.as_bytes()) {
        Ok(signature) => signature,
        Err(e) => return finish(None, Some(e.to_string())),
    };
    let request = http::Request::post(delivery.url.as_str())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, concat!("certgate-webhooks/", env!("CARGO_PKG_VERSION")))
        .header("webhook-id", delivery.id.as_str())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(Full::new(Bytes::from(delivery.payload)));
    let request = match request {
        Ok(request) => request,
        Err(e) => return finish(None, Some(format!("invalid request: {e}"))),
    };
    match tokio::time::timeout(timeout, client.request(request)).await {
        Ok(Ok(response)) => {
            let status = response.status();
            let error = (!status.is_success()).then(|| match status.is_redirection() {
                true => "redirect not followed".to_string(),
                false => format!("answered {status}"),
            });
            finish(Some(status.as_u16()), error)
        }
        Ok(Err(e)) => finish(None, Some(describe(&e))),
        Err(_) => finish(None, Some(format!("no answer within {} s", timeout.as_secs()))),
    }
}

/// The error and its causes (hyper's own message alone says only "client error (Connect)").
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How often expiring certificates are looked for.
const EXPIRY_SCAN: Duration = Duration::from_secs(24 * 3600);

/// `certificate.expiring` at start and then daily (each certificate and threshold once).
pub async fn scan_expiring_daily(webhooks: Webhooks) {
    let mut every = tokio::time::interval(EXPIRY_SCAN);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match webhooks.scan_expiring(clock::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(certificates = n, "certificate.expiring events queued"),
            Err(e) => tracing::warn!(error = %e, "looking for expiring certificates failed; retrying tomorrow"),
        }
    }
}
