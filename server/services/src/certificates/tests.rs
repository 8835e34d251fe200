use super::*;
use crate::organisations::Organisations;
use certgate_testpki::{LeafSpec, TestPki};

async fn setup() -> (tempfile::TempDir, Store, Certificates) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store.clone(), Certificates::new(store))
}

#[tokio::test]
async fn add_get_list_and_duplicates() {
    let (_d, _s, certs) = setup().await;
    let pki = TestPki::new();
    let leaf = pki.leaf(&LeafSpec::client("alice"));
    let added = certs.add(leaf.cert_pem.as_bytes(), Encoding::Pem, "admin-token").await.unwrap();
    let id = added.record.facts.id.clone();
    assert_eq!(id.len(), 64);
    assert_eq!(added.label(), "alice");
    // The same certificate as DER is a duplicate naming the id.
    match certs.add(&leaf.der, Encoding::Der, "admin-token").await {
        Err(ServiceError::Conflict { code: "duplicate_certificate", message }) => assert!(message.contains(&id)),
        other => panic!("expected a duplicate conflict, got {other:?}"),
    }
    let got = certs.get(&pki::colon_fingerprint(&id)).await.unwrap();
    assert_eq!(got.record.der, leaf.der);
    assert_eq!(got.pem(), leaf.cert_pem.replace("\r\n", "\n"));
    assert_eq!(certs.list(CertificateFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn refusals_store_nothing() {
    let (_d, _s, certs) = setup().await;
    let key = TestPki::self_signed(&LeafSpec::client("k")).key_pem;
    match certs.add(key.as_bytes(), Encoding::Pem, "a").await {
        Err(ServiceError::Invalid { code: "private_key_not_certificate", message }) => assert!(!message.contains("MII")),
        other => panic!("{other:?}"),
    }
    assert!(certs.add(b"garbage", Encoding::Pem, "a").await.is_err());
    assert!(certs.list(CertificateFilter::default()).await.unwrap().is_empty());
}

#[tokio::test]
async fn expired_and_future_certificates_are_accepted() {
    let (_d, _s, certs) = setup().await;
    let pki = TestPki::new();
    for spec in [LeafSpec::client("old").expired(), LeafSpec::client("new").not_yet_valid()] {
        let e = certs.add(pki.leaf(&spec).cert_pem.as_bytes(), Encoding::Pem, "a").await.unwrap();
        assert_ne!(pki::validity_at(&e.record.facts, clock::now()), pki::Validity::Valid);
    }
}

#[tokio::test]
async fn portal_name_and_organisation_links_are_kept_apart_from_the_provider_record() {
    let (_d, store, certs) = setup().await;
    let orgs = Organisations::new(store.clone());
    let acme = orgs.create("Acme").await.unwrap();
    let pki = TestPki::new();
    let added = certs.add(pki.leaf(&LeafSpec::client("bob")).cert_pem.as_bytes(), Encoding::Pem, "a").await.unwrap();
    let id = added.record.facts.id.clone();
    let before = added.record.clone();

    let renamed = certs.set_display_name(&id, "  Bob's laptop ", "a").await.unwrap();
    assert_eq!(renamed.label(), "Bob's laptop");
    let linked = certs.link_organisation(&id, &acme.id, "a").await.unwrap();
    assert_eq!(linked.organisations.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), vec!["Acme"]);
    assert_eq!(linked.record, before, "portal data leaked into the provider record");
    assert!(matches!(certs.link_organisation(&id, "org_missing", "a").await, Err(ServiceError::NotFound { what: "organisation" })));

    // An organisation with linked certificates cannot be deleted.
    assert!(matches!(orgs.delete(&acme.id).await, Err(ServiceError::Conflict { code: "organisation_in_use", .. })));
    let filter = CertificateFilter { organisation: Some(acme.id.clone()), ..Default::default() };
    assert_eq!(certs.list(filter.clone()).await.unwrap().len(), 1);
    certs.unlink_organisation(&id, &acme.id, "a").await.unwrap();
    assert!(certs.list(filter).await.unwrap().is_empty());
    orgs.delete(&acme.id).await.unwrap();

    let cleared = certs.set_display_name(&id, "", "a").await.unwrap();
    assert_eq!(cleared.label(), "bob");
    assert!(certs.set_display_name(&id, &"x".repeat(101), "a").await.is_err());

    certs.delete(&id, false, "a").await.unwrap();
    assert!(matches!(certs.get(&id).await, Err(ServiceError::NotFound { .. })));
    let log = store.read(|txn| audit::recent(txn, 10)).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions[0], "certificate.deleted");
    assert!(actions.contains(&"certificate.added"));
}

#[tokio::test]
async fn filters() {
    let (_d, _s, certs) = setup().await;
    let pki = TestPki::new();
    let soon = certs.add(pki.leaf(&LeafSpec::client("soon").expiring_in_days(5)).cert_pem.as_bytes(), Encoding::Pem, "a").await.unwrap();
    certs.add(pki.leaf(&LeafSpec::client("later").expiring_in_days(200)).cert_pem.as_bytes(), Encoding::Pem, "a").await.unwrap();
    certs.add(pki.intermediate.cert_pem.as_bytes(), Encoding::Pem, "a").await.unwrap();

    let within = |d| CertificateFilter { expiring_within_days: Some(d), ..Default::default() };
    assert_eq!(certs.list(within(7)).await.unwrap().len(), 1);
    assert_eq!(certs.list(within(365)).await.unwrap().len(), 2);
    let cas = certs.list(CertificateFilter { kind: Some(CertificateKind::Ca), ..Default::default() }).await.unwrap();
    assert_eq!(cas.len(), 1);
    assert!(cas[0].record.facts.is_ca);
    assert_eq!(certs.list(CertificateFilter { kind: Some(CertificateKind::Leaf), ..Default::default() }).await.unwrap().len(), 2);
    let q = |s: &str| CertificateFilter { q: Some(s.into()), ..Default::default() };
    assert_eq!(certs.list(q("SOON")).await.unwrap().len(), 1);
    let colon = pki::colon_fingerprint(&soon.record.facts.id);
    assert_eq!(certs.list(q(&colon[..20])).await.unwrap()[0].record.facts.id, soon.record.facts.id);
    assert!(certs.list(q("no such thing")).await.unwrap().is_empty());
    // Soonest expiry first.
    let all = certs.list(CertificateFilter::default()).await.unwrap();
    assert_eq!(all[0].label(), "soon");
}

#[tokio::test]
async fn used_by_follows_apis_and_keys_through_the_index_and_a_migration_rebuilds_it() {
    use certgate_core::gateway::spec::{ApiSpec, KeySpec};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (certs, apis, keys) = (Certificates::new(store.clone()), crate::apis::Apis::new(store.clone()), crate::keys::Keys::new(store.clone()));
    let pki = TestPki::new();
    let (a, b) = (pki.leaf(&LeafSpec::client("a")), pki.leaf(&LeafSpec::client("b")));
    let id_a = certs.add(a.cert_pem.as_bytes(), Encoding::Pem, "t").await.unwrap().record.facts.id;
    let id_b = certs.add(b.cert_pem.as_bytes(), Encoding::Pem, "t").await.unwrap().record.facts.id;
    let spec = |allowed: &[&String]| -> ApiSpec {
        serde_json::from_value(serde_json::json!({"name": "orders", "listen_path": "/orders", "upstream_url": "http://127.0.0.1:9/",
            "auth": "auth_token", "mtls": {"required": true, "allowed_certificates": allowed}}))
        .unwrap()
    };
    let used_by = |id: String| {
        let certs = certs.clone();
        async move { certs.get(&id).await.unwrap().used_by.iter().map(|u| format!("{}:{}", u.kind, u.name)).collect::<Vec<_>>() }
    };
    let api = apis.create(spec(&[&id_a]), "t").await.unwrap();
    assert_eq!(used_by(id_a.clone()).await, vec!["api:orders"]);
    apis.update(&api.id, spec(&[&id_b]), "t").await.unwrap();
    assert!(used_by(id_a.clone()).await.is_empty(), "an entry taken off the allow list leaves the index");
    let key = keys.create(KeySpec { apis: vec![api.id.clone()], bound_certificates: Some(vec![id_b.clone()]), rate: None, quota: None, expires_at: None }, "t").await.unwrap();
    assert_eq!(used_by(id_b.clone()).await.len(), 2);
    assert!(matches!(certs.delete(&id_b, false, "t").await, Err(ServiceError::Conflict { code: "certificate_in_use", .. })));
    keys.revoke(&key.record.id, "t").await.unwrap();
    assert_eq!(used_by(id_b.clone()).await, vec!["api:orders"]);

    // A store written before the index existed (schema 2) gets it built at open.
    store
        .write(|txn| {
            txn.open_table(tables::CERTIFICATE_USERS)?.retain(|_, _| false).map_err(crate::store::StoreError::from)?;
            txn.open_table(tables::META)?.insert("schema_version", "2").map_err(crate::store::StoreError::from)?;
            Ok(())
        })
        .await
        .unwrap();
    assert!(used_by(id_b.clone()).await.is_empty());
    drop((certs, apis, keys));
    assert!(store.close(std::time::Duration::from_secs(5)).await);
    let reopened = Certificates::new(Store::open(dir.path()).unwrap());
    let uses = reopened.get(&id_b).await.unwrap().used_by;
    assert_eq!((uses.len(), uses[0].name.as_str()), (1, "orders"));
}

#[tokio::test]
async fn the_portal_facade_sets_name_and_links_in_one_write_or_not_at_all() {
    let (_d, store, certs) = setup().await;
    let orgs = Organisations::new(store.clone());
    let (acme, globex) = (orgs.create("Acme").await.unwrap(), orgs.create("Globex").await.unwrap());
    let pki = TestPki::new();
    let id = certs.add(pki.leaf(&LeafSpec::client("carol")).cert_pem.as_bytes(), Encoding::Pem, "a").await.unwrap().record.facts.id;
    let audit_len = || async { store.read(|txn| audit::recent(txn, 100)).await.unwrap().len() };

    let before = audit_len().await;
    let both = certs.update_portal(&id, Some(" Carol "), Some(vec![acme.id.clone(), globex.id.clone()]), "a").await.unwrap();
    assert_eq!((both.meta.display_name.as_deref(), both.meta.organisation_ids.len()), (Some("Carol"), 2));
    assert_eq!(audit_len().await, before + 1, "one audit entry for the whole change");
    let log = store.read(|txn| audit::recent(txn, 1)).await.unwrap();
    assert_eq!(log[0].action, "certificate.portal_updated");

    // Replaces the links; a name left out is kept.
    let replaced = certs.update_portal(&id, None, Some(vec![globex.id.clone()]), "a").await.unwrap();
    assert_eq!(replaced.meta.display_name.as_deref(), Some("Carol"));
    assert_eq!(replaced.meta.organisation_ids.iter().cloned().collect::<Vec<_>>(), vec![globex.id.clone()]);

    // An unknown organisation refuses the whole write, name included.
    let before = audit_len().await;
    match certs.update_portal(&id, Some("Renamed"), Some(vec![acme.id.clone(), "org_missing".into()]), "a").await {
        Err(ServiceError::Invalid { code: "unknown_organisation", .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        certs.update_portal(&id, Some(&"x".repeat(101)), Some(vec![]), "a").await,
        Err(ServiceError::Invalid { code: "invalid_name", .. })
    ));
    assert_eq!(certs.get(&id).await.unwrap().meta, replaced.meta);
    assert_eq!(audit_len().await, before, "a refusal writes no audit entry");
    assert!(matches!(certs.update_portal(&"0".repeat(64), Some("x"), None, "a").await, Err(ServiceError::NotFound { what: "certificate" })));
}
