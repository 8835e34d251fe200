//! Values the operator's metrics show as gauges, read from the store off the request path (the
//! binary refreshes them periodically): days left per certificate in an allow list or binding,
//! and pending access requests. Both read index keys only, never every record.

use std::collections::HashSet;

use certgate_core::UnixSeconds;
use redb::ReadableTable;

use crate::gateway_view::SharedState;
use crate::store::{tables, Store};
use crate::ServiceError;

/// How many access requests wait for the admin.
pub async fn pending_access_requests(store: &Store) -> Result<u64, ServiceError> {
    store.read(count_pending_access_requests).await
}

/// How many access requests wait, from the state index's keys.
pub(crate) fn count_pending_access_requests(txn: &redb::ReadTransaction) -> Result<u64, ServiceError> {
    // '0' is the character after '/': exactly the keys `state:pending/…`.
    let index = txn.open_table(tables::ACCESS_REQUESTS_BY)?;
    let mut count = 0u64;
    for entry in index.range("state:pending/".."state:pending0")? {
        entry?;
        count += 1;
    }
    Ok(count)
}

/// Whole days from `now` until `not_after` (negative once expired; a certificate expiring in
/// 36 hours has 1 day left).
pub fn days_left(not_after: UnixSeconds, now: UnixSeconds) -> i64 {
    not_after.saturating_sub(now).div_euclid(86_400)
}

/// (certificate id, days left) of every certificate in an API's allow list (the admin's entries
/// and what live portal credentials contribute) or a credential's binding, by expiry.
pub async fn certificate_expiry(store: &Store, state: SharedState, now: UnixSeconds) -> Result<Vec<(String, i64)>, ServiceError> {
    store
        .read(move |txn| {
            let allowed: HashSet<String> = crate::apis::all(&txn.open_table(tables::APIS)?)?
                .into_iter()
                .flat_map(|api| api.spec.mtls.allowed_certificates)
                .collect();
            // The "used by" index names admin keys' bindings (`key:`); API holders are checked
            // against the allow lists above (an API also holds its upstream CA or pin).
            let mut used: HashSet<String> = HashSet::new();
            for entry in txn.open_table(tables::CERTIFICATE_USERS)?.iter()? {
                let (k, _) = entry?;
                if let Some((certificate, holder)) = k.value().split_once('/') {
                    if holder.starts_with("key:") || (holder.starts_with("api:") && allowed.contains(certificate)) {
                        used.insert(certificate.to_string());
                    }
                }
            }
            let mut out = Vec::new();
            for entry in txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.iter()? {
                let (k, _) = entry?;
                let Some((not_after, id)) = parse_expiry_key(k.value()) else { continue };
                if used.contains(id) || state.portal_uses_certificate(id) {
                    out.push((id.to_string(), days_left(not_after, now)));
                }
            }
            Ok(out)
        })
        .await
}

/// The inverse of `certificates::indexes::expiry_key`.
fn parse_expiry_key(key: &str) -> Option<(UnixSeconds, &str)> {
    let (time, id) = key.split_once(':')?;
    let flipped: u64 = time.parse().ok()?;
    Some(((flipped ^ (1 << 63)) as i64, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_round_down_and_go_negative() {
        assert_eq!(days_left(100 + 36 * 3600, 100), 1);
        assert_eq!(days_left(100, 100), 0);
        assert_eq!(days_left(100 - 1, 100), -1);
        assert_eq!(days_left(100 - 86_400 * 2, 100), -2);
    }

    #[test]
    fn expiry_keys_parse_back() {
        let facts = |not_after| certgate_core::pki::CertificateFacts { not_after, id: "abc".into(), ..test_facts() };
        for t in [-5_i64, 0, 1_795_531_007] {
            let key = crate::certificates::expiry_key(&facts(t));
            assert_eq!(parse_expiry_key(&key), Some((t, "abc")));
        }
    }

    #[tokio::test]
    async fn expiry_covers_allow_lists_bindings_and_portal_credentials_and_pending_counts_requests() {
        use std::collections::HashMap;

        use certgate_core::gateway::spec::{ApiSpec, KeySpec};
        use certgate_core::portal::product::CertificateMode;
        use certgate_testpki::{LeafSpec, TestPki};

        use crate::portal::requests::NewRequest;
        use crate::portal::Actor;

        let w = crate::test_world::world().await;
        let pki = TestPki::new();
        let pinned = w.upload(&pki.leaf(&LeafSpec::client("pinned").expiring_in_days(10)), None).await;
        let bound = w.upload(&pki.leaf(&LeafSpec::client("bound")), None).await;
        let org = w.upload(&pki.leaf(&LeafSpec::client("acme")), Some(&w.acme)).await;
        let unused = w.upload(&pki.leaf(&LeafSpec::client("unused")), None).await;
        let upstream_ca = w.upload(&pki.root, None).await;
        let spec = |json: serde_json::Value| -> ApiSpec { serde_json::from_value(json).unwrap() };
        let apis = crate::apis::Apis::new(w.store.clone());
        apis.create(
            spec(serde_json::json!({"name": "orders", "listen_path": "/orders", "upstream_url": "http://127.0.0.1:9/", "auth": "none",
                "mtls": {"required": true, "allowed_certificates": [pinned]}})),
            "admin",
        )
        .await
        .unwrap();
        apis.create(
            spec(serde_json::json!({"name": "up", "listen_path": "/up", "upstream_url": "https://127.0.0.1:9/", "auth": "none", "upstream_ca": upstream_ca})),
            "admin",
        )
        .await
        .unwrap();
        let key = KeySpec { apis: vec![w.api.clone()], bound_certificates: Some(vec![bound.clone()]), rate: None, quota: None, expires_at: None };
        crate::keys::Keys::new(w.store.clone()).create(key, "admin").await.unwrap();
        let product = w.product(CertificateMode::Managed, false).await;
        let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: crate::accounts::OrgRole::OrgAdmin };
        let app = w.apps.create(&alice, "Shop").await.unwrap().id;
        let request = w.requests.create(&alice, &app, NewRequest { product, plan: w.plan.clone(), certificate: None }).await.unwrap();

        let now = crate::clock::now();
        let expiry = |state: SharedState| {
            let store = w.store.clone();
            async move { certificate_expiry(&store, state, now).await.unwrap().into_iter().collect::<HashMap<_, _>>() }
        };
        let before = expiry(w.state.clone()).await;
        assert!(matches!(before.get(&pinned), Some(9 | 10)), "{before:?}");
        assert!(before.contains_key(&bound), "a key's binding counts: {before:?}");
        assert!(!before.contains_key(&org), "no credential has the organisation's certificate yet: {before:?}");
        assert!(!before.contains_key(&unused) && !before.contains_key(&upstream_ca), "{before:?}");
        assert_eq!(pending_access_requests(&w.store).await.unwrap(), 1);

        w.requests.approve(&w.admin, &request.id).await.unwrap();
        let after = expiry(w.state.clone()).await;
        assert!(after.contains_key(&org), "a Managed credential's certificate joins the allow list: {after:?}");
        assert_eq!(after.len(), 3, "{after:?}");
        assert_eq!(pending_access_requests(&w.store).await.unwrap(), 0);
    }

    fn test_facts() -> certgate_core::pki::CertificateFacts {
        let pki = certgate_testpki::TestPki::new();
        certgate_core::pki::parse_der(&pki.leaf(&certgate_testpki::LeafSpec::client("x")).der).unwrap()
    }
}
