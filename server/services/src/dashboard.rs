//! The admin dashboard's counts, from the store in one read transaction: APIs, certificates by
//! expiry, access requests waiting. Each is read from a table's length or an index's keys,
//! never by decoding every record, so the first screen stays fast on a large store.

use certgate_core::UnixSeconds;

use redb::ReadableTableMetadata;

use crate::certificates::ExpiryOverview;
use crate::store::{tables, Store};
use crate::ServiceError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardCounts {
    pub apis: u64,
    pub certificates: ExpiryOverview,
    pub pending_access_requests: u64,
}

#[derive(Clone)]
pub struct Dashboard {
    store: Store,
}

impl Dashboard {
    pub fn new(store: Store) -> Dashboard {
        Dashboard { store }
    }

    pub async fn counts(&self, now: UnixSeconds) -> Result<DashboardCounts, ServiceError> {
        self.store
        .read(move |txn| {
            let apis = txn.open_table(tables::APIS)?.len()?;
            let certificates = crate::certificates::search::overview(txn, now)?;
            let pending_access_requests = crate::gauges::count_pending_access_requests(txn)?;
            Ok(DashboardCounts { apis, certificates, pending_access_requests })
        })
        .await
}
}
