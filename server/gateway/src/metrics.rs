//! The gateway's Prometheus metrics: requests by API (id and name) and status, latency, denials
//! by code, the listener's connections and handshakes, and access-log lines dropped.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use certgate_core::gateway::view::ApiView;

use crate::listener::ListenerStats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The API id, or empty when no API matched.
    api: String,
    /// The API's name (empty when no API matched): dashboards show names, ids stay stable.
    api_name: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DenialLabels {
    code: &'static str,
}

#[derive(Clone)]
pub struct GatewayMetrics {
    requests: Family<RequestLabels, Counter>,
    denials: Family<DenialLabels, Counter>,
    latency: Histogram,
    generation: Gauge,
    access_log_dropped: Counter,
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        GatewayMetrics {
            requests: Family::default(),
            denials: Family::default(),
            // 0.25 ms .. ~4 s
            latency: Histogram::new(exponential_buckets(0.000_25, 2.0, 15)),
            generation: Gauge::default(),
            access_log_dropped: Counter::default(),
        }
    }
}

impl GatewayMetrics {
    pub fn register(&self, registry: &mut Registry, listener: &ListenerStats) {
        registry.register(
            "certgate_access_log_dropped",
            "Access-log lines dropped because the log's queue was full",
            self.access_log_dropped.clone(),
        );
        let gateway = registry.sub_registry_with_prefix("certgate_gateway");
        gateway.register("requests", "Requests answered, by API id, API name and status", self.requests.clone());
        gateway.register("denials", "Requests refused by the gateway, by problem code", self.denials.clone());
        gateway.register("request_duration_seconds", "Time from request to response headers", self.latency.clone());
        gateway.register("snapshot_generation", "Generation of the configuration the gateway enforces", self.generation.clone());
        gateway.register("open_connections", "Client connections open now", listener.open_connections.clone());
        gateway.register("connections_accepted", "TCP connections accepted", listener.accepted.clone());
        gateway.register("handshakes", "Completed TLS handshakes", listener.handshakes.clone());
        gateway.register("failed_handshakes", "Failed or timed-out TLS handshakes", listener.failed_handshakes.clone());
    }

    /// The counter of dropped access-log lines (the access log's writer counts into it).
    pub(crate) fn access_log_dropped(&self) -> Counter {
        self.access_log_dropped.clone()
    }

    pub(crate) fn observe(&self, api: Option<&ApiView>, status: u16, denial: Option<&'static str>, elapsed: Duration, generation: u64) {
        let (api, api_name) = api.map(|a| (a.id.clone(), a.name.clone())).unwrap_or_default();
        self.requests.get_or_create(&RequestLabels { api, api_name, status }).inc();
        if let Some(code) = denial {
            self.denials.get_or_create(&DenialLabels { code }).inc();
        }
        self.latency.observe(elapsed.as_secs_f64());
        self.generation.set(i64::try_from(generation).unwrap_or(i64::MAX));
    }
}

/// The registry in Prometheus text format.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}
