//! Gauges the store knows rather than the gateway: days left per certificate in an allow list
//! or binding, and pending access requests. Refreshed periodically off the request path.

use std::collections::HashSet;
use std::time::Duration;

use certgate_services::gateway_view::SharedState;
use certgate_services::store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// How often the gauges are read again (days left change daily; pending requests with writes).
pub const REFRESH: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabels {
    /// The certificate's id (lowercase hex SHA-256 of its DER).
    certificate: String,
}

#[derive(Clone, Default)]
pub struct StoreGauges {
    expiry: Family<CertificateLabels, Gauge>,
    pending: Gauge,
}

impl StoreGauges {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "certgate_certificate_expiry_days",
            "Whole days until each certificate in an allow list or binding expires (negative: expired)",
            self.expiry.clone(),
        );
        registry.register("certgate_access_requests_pending", "Access requests waiting for the admin", self.pending.clone());
    }

    /// Reads both again; returns the certificates now shown (a later refresh removes the
    /// series of those that left every allow list and binding).
    async fn refresh(&self, store: &Store, state: &SharedState, shown: HashSet<String>) -> HashSet<String> {
        match certgate_services::gauges::pending_access_requests(store).await {
            Ok(n) => {
                self.pending.set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            Err(e) => tracing::warn!(error = %e, "cannot count pending access requests for the metrics"),
        }
        let now = certgate_services::clock::now();
        match certgate_services::gauges::certificate_expiry(store, state.clone(), now).await {
            Ok(days) => {
                let mut now_shown = HashSet::with_capacity(days.len());
                for (certificate, left) in days {
                    self.expiry.get_or_create(&CertificateLabels { certificate: certificate.clone() }).set(left);
                    now_shown.insert(certificate);
                }
                for gone in shown.difference(&now_shown) {
                    self.expiry.remove(&CertificateLabels { certificate: gone.clone() });
                }
                now_shown
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read certificate expiry for the metrics");
                shown
            }
        }
    }
}

/// Refreshes the gauges every `every`, the first time at once.
pub async fn refresh_every(gauges: StoreGauges, store: Store, state: SharedState, every: Duration) {
    let mut shown = HashSet::new();
    loop {
        shown = gauges.refresh(&store, &state, shown).await;
        tokio::time::sleep(every).await;
    }
}
