//! The webhook delivery worker: sends what the store's outbox says is due, signed per Standard
//! Webhooks, and records each attempt's outcome (the services decide retries and disabling).
//!
//! Redirects are not followed (hyper's client never does; a 3xx is a failed attempt). The
//! answer's body is never read or shown: only its status code is kept.

use std::collections::HashSet;
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
    /// Attempts in flight at once (a slow endpoint does not hold up the others).
    pub concurrency: usize,
}

impl WorkerConfig {
    /// Polls every second, or as often as the first retry's wait when that is shorter (tests).
    pub fn for_policy(policy: RetryPolicy) -> WorkerConfig {
        let poll = Duration::from_millis(u64::try_from(policy.base_ms).unwrap_or(1000).clamp(20, 1000));
        WorkerConfig { poll, timeout: Duration::from_secs(10), concurrency: 16 }
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

/// Runs until aborted. Deliveries in flight when it is aborted are still queued in the store.
pub async fn deliver(webhooks: Webhooks, config: WorkerConfig) {
    let Some(client) = client(config.timeout) else { return };
    let in_flight: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let room = config.concurrency.saturating_sub(lock(&in_flight).len());
        if room > 0 {
            let busy = Arc::clone(&in_flight);
            match webhooks.due(clock::now_ms(), room, move |seq| lock(&busy).contains(&seq)).await {
                Ok(due) => {
                    for delivery in due {
                        lock(&in_flight).insert(delivery.seq);
                        let (client, webhooks, in_flight) = (client.clone(), webhooks.clone(), Arc::clone(&in_flight));
                        tasks.spawn(async move {
                            let (seq, id) = (delivery.seq, delivery.id.clone());
                            let attempt = attempt(&client, delivery, config.timeout).await;
                            if let Err(e) = webhooks.record_attempt(seq, &id, attempt, clock::now_ms()).await {
                                // Still queued: it is sent again (at least once).
                                tracing::warn!(error = %e, "recording a webhook attempt failed");
                            }
                            lock(&in_flight).remove(&seq);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading the webhook outbox failed; retrying"),
            }
        }
        tokio::time::sleep(config.poll).await;
    }
}

fn lock(set: &Mutex<HashSet<u64>>) -> std::sync::MutexGuard<'_, HashSet<u64>> {
    set.lock().unwrap_or_else(|p| p.into_inner())
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
