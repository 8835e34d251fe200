//! The gateway's Prometheus metrics: requests by API and status, latency, denials by code,
//! and the listener's connections and handshakes.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::listener::ListenerStats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The API id, or empty when no API matched.
    api: String,
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
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        GatewayMetrics {
            requests: Family::default(),
            denials: Family::default(),
            // 0.25 ms .. ~4 s
            latency: Histogram::new(exponential_buckets(0.000_25, 2.0, 15)),
            generation: Gauge::default(),
        }
    }
}

impl GatewayMetrics {
    pub fn register(&self, registry: &mut Registry, listener: &ListenerStats) {
        let gateway = registry.sub_registry_with_prefix("certgate_gateway");
        gateway.register("requests", "Requests answered, by API id and status", self.requests.clone());
        gateway.register("denials", "Requests refused by the gateway, by problem code", self.denials.clone());
        gateway.register("request_duration_seconds", "Time from request to response headers", self.latency.clone());
        gateway.register("snapshot_generation", "Generation of the configuration the gateway enforces", self.generation.clone());
        gateway.register("open_connections", "Client connections open now", listener.open_connections.clone());
        gateway.register("connections_accepted", "TCP connections accepted", listener.accepted.clone());
        gateway.register("handshakes", "Completed TLS handshakes", listener.handshakes.clone());
        gateway.register("failed_handshakes", "Failed or timed-out TLS handshakes", listener.failed_handshakes.clone());
    }

    pub(crate) fn observe(&self, api: Option<&str>, status: u16, denial: Option<&'static str>, elapsed: Duration, generation: u64) {
        self.requests.get_or_create(&RequestLabels { api: api.unwrap_or_default().to_string(), status }).inc();
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
