//! The portal at scale (issue "Developer portal, core", "Scale and speed"): loads 1,000
//! organisations, 10,000 certificates, 10,000 apps and 100,000 credentials with minted tokens
//! into a real store, attaches the gateway's view, then times the writes the issue names
//! (approve, revoke, link a certificate: acknowledged and enforced, i.e. the view republished),
//! "used by", the first page of the lists, and the memory the view takes per credential.
//!
//! `bash bench/portal-scale.sh` runs it in release mode. It is a benchmark: nothing fails on a
//! figure. The bulk load writes records directly (one transaction per organisation) because
//! 100,000 approvals one by one would measure the loader, not the product; the timed operations
//! go through the services, as REST does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use certgate_core::gateway::spec::{ApiSpec, KeySpec, Quota, QuotaPeriod, Rate};
use certgate_core::pki::{self, Encoding};
use certgate_core::portal::credential::{TokenRecord, TokenState};
use certgate_core::portal::plan::PlanSpec;
use certgate_core::portal::product::{CertificateMode, ProductSpec};
use certgate_core::portal::request::{RequestKind, RequestState};
use certgate_services::apis::Apis;
use certgate_services::certificates::{expiry_key, CertificatePortalMeta, CertificateRecord, Certificates};
use certgate_services::portal::records::request_key;
use certgate_services::gateway_view::attach;
use certgate_services::keys::Keys;
use certgate_services::organisations::OrganisationRecord;
use certgate_services::plans::Plans;
use certgate_services::portal::apps::{AppRecord, Apps};
use certgate_services::portal::credentials::{CredentialRecord, Credentials};
use certgate_services::portal::requests::{AccessRequestRecord, AccessRequests, NewRequest, SubscriptionRecord};
use certgate_services::portal::Actor;
use certgate_services::products::Products;
use certgate_services::store::{codec, tables, Store};
use certgate_testpki::{LeafSpec, TestPki};
use sha2::Digest;

const ORGANISATIONS: usize = 1_000;
const CERTIFICATES_PER_ORGANISATION: usize = 10;
const APPS_PER_ORGANISATION: usize = 10;
/// Every app subscribes to every product: 10,000 apps x 10 products = 100,000 credentials.
const PRODUCTS: usize = 10;
const SAMPLES: usize = 40;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn p(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

fn report(what: &str, samples: &mut [Duration]) {
    println!("| {what} | {:.1} | {:.1} | {:.1} | {} |", p(samples, 0.5), p(samples, 0.95), p(samples, 1.0), samples.len());
}

fn sha256_hex(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// `PORTAL_SCALE_ADMIN_KEYS=1`: the same number of admin keys instead (each bound to one of
/// 10,000 certificates, with a rate and a quota, as bench/seed.py makes them), to compare the
/// view's memory per credential. A separate process: RSS never shrinks.
async fn admin_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = certgate_services::clock::now();
    let spec: ApiSpec = serde_json::from_value(serde_json::json!({
        "name": "api", "listen_path": "/api", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token", "mtls": {"required": true}
    }))
    .unwrap();
    let api = Apis::new(store.clone()).create(spec, "bench").await.unwrap().id;
    let pki = TestPki::new();
    let mut certificates = Vec::new();
    for c in 0..ORGANISATIONS * CERTIFICATES_PER_ORGANISATION {
        let leaf = pki.leaf(&LeafSpec::client(&format!("client-{c}")));
        certificates.push(CertificateRecord { facts: pki::parse_der(&leaf.der).unwrap(), der: leaf.der, added_at: now });
    }
    let ids: Vec<String> = certificates.iter().map(|c| c.facts.id.clone()).collect();
    store
        .write(move |txn| {
            for cert in &certificates {
                txn.open_table(tables::CERTIFICATES)?.insert(cert.facts.id.as_str(), codec::encode(cert)?.as_slice())?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let total = ORGANISATIONS * APPS_PER_ORGANISATION * PRODUCTS;
    for chunk in 0..total / 1_000 {
        let (api, ids) = (api.clone(), ids.clone());
        store
            .write(move |txn| {
                for i in chunk * 1_000..(chunk + 1) * 1_000 {
                    let record = certgate_services::keys::KeyRecord {
                        id: format!("key_{i:08}"),
                        token_sha256: sha256_hex(&format!("admin-token-{i}")),
                        spec: KeySpec {
                            apis: vec![api.clone()],
                            bound_certificates: Some(vec![ids[i % ids.len()].clone()]),
                            rate: Some(Rate { requests: 100, per_seconds: 1 }),
                            quota: Some(Quota { max: 100_000, period: QuotaPeriod::Day }),
                            expires_at: None,
                        },
                        created_at: now,
                    };
                    txn.open_table(tables::KEYS)?.insert(record.id.as_str(), codec::encode(&record)?.as_slice())?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }
    let before = rss_kib();
    let state = attach(&store).unwrap();
    let after = rss_kib();
    println!("admin keys: {} key entries; RSS {} -> {} MiB; view memory per admin key: {} bytes", state.keys.len(), before / 1024, after / 1024, (after.saturating_sub(before) * 1024) / total as u64);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var_os("PORTAL_SCALE_ADMIN_KEYS").is_some() {
        return admin_keys_only().await;
    }
    // PORTAL_SCALE_DIR keeps the store there (bench/portal-scale.sh then serves it).
    let dir = tempfile::tempdir().unwrap();
    let data_dir = std::env::var_os("PORTAL_SCALE_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| dir.path().to_path_buf());
    let store = Store::open(&data_dir).unwrap();
    let admin = Actor::Admin { name: "bench".into() };
    let now = certgate_services::clock::now();

    // Provider side through the services: APIs, plans, products.
    let plan_spec = PlanSpec {
        name: "Gold".into(),
        rate: Some(Rate { requests: 100, per_seconds: 1 }),
        quota: Some(Quota { max: 100_000, period: QuotaPeriod::Day }),
        auto_approve: false,
        token_lifetime_seconds: None,
    };
    let plan = Plans::new(store.clone()).create(plan_spec, "bench").await.unwrap().id;
    let mut products = Vec::new();
    let mut api_ids = Vec::new();
    for i in 0..PRODUCTS {
        let spec: ApiSpec = serde_json::from_value(serde_json::json!({
            "name": format!("api-{i}"), "listen_path": format!("/api-{i}"), "upstream_url": "http://127.0.0.1:9/",
            "auth": "auth_token", "mtls": {"required": true}
        }))
        .unwrap();
        let api = Apis::new(store.clone()).create(spec, "bench").await.unwrap().id;
        api_ids.push(api.clone());
        let spec = ProductSpec {
            name: format!("product-{i}"),
            description: String::new(),
            apis: vec![api],
            plans: vec![plan.clone()],
            published: true,
            visible_to: None,
            certificate_mode: Some(CertificateMode::Managed),
            certificate_binding: true,
        };
        products.push(Products::new(store.clone()).create(spec, "bench").await.unwrap().id);
    }

    // Consumer side in bulk: one transaction per organisation.
    let started = Instant::now();
    let pki = TestPki::new();
    let mut first_certificate = String::new();
    let mut spare_certificates = Vec::new();
    let mut organisation_ids = Vec::new();
    let mut credential_ids = Vec::new();
    for o in 0..ORGANISATIONS {
        let org = OrganisationRecord { id: format!("org_{o:06}"), name: format!("Organisation {o}"), created_at: now, updated_at: now, suspended_at: None };
        let mut certs = Vec::new();
        for c in 0..CERTIFICATES_PER_ORGANISATION {
            let leaf = pki.leaf(&LeafSpec::client(&format!("client-{o}-{c}")));
            let facts = pki::parse_der(&leaf.der).unwrap();
            certs.push(CertificateRecord { facts, der: leaf.der, added_at: now });
        }
        // One extra certificate per organisation, stored but not linked: "link" samples it.
        let spare = pki.leaf(&LeafSpec::client(&format!("spare-{o}")));
        let spare = CertificateRecord { facts: pki::parse_der(&spare.der).unwrap(), der: spare.der, added_at: now };
        if o == 0 {
            first_certificate = certs[0].facts.id.clone();
        }
        spare_certificates.push((spare.facts.id.clone(), org.id.clone()));
        let products = products.clone();
        let plan = plan.clone();
        let org_id = org.id.clone();
        let made = store
            .write(move |txn| {
                txn.open_table(tables::ORGANISATIONS)?.insert(org.id.as_str(), codec::encode(&org)?.as_slice())?;
                txn.open_table(tables::ORGANISATIONS_BY_NAME)?.insert(org.name.to_lowercase().as_str(), org.id.as_str())?;
                for cert in certs.iter().chain(std::iter::once(&spare)) {
                    txn.open_table(tables::CERTIFICATES)?.insert(cert.facts.id.as_str(), codec::encode(cert)?.as_slice())?;
                    txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.insert(expiry_key(&cert.facts).as_str(), &[][..])?;
                }
                for cert in &certs {
                    let meta = CertificatePortalMeta { display_name: None, organisation_ids: [org.id.clone()].into() };
                    txn.open_table(tables::CERTIFICATE_PORTAL)?.insert(cert.facts.id.as_str(), codec::encode(&meta)?.as_slice())?;
                    txn.open_table(tables::ORGANISATION_CERTIFICATES)?.insert(format!("{}/{}", org.id, cert.facts.id).as_str(), &[][..])?;
                }
                let mut made = Vec::new();
                for a in 0..APPS_PER_ORGANISATION {
                    let app = AppRecord { id: format!("app_{o:06}_{a:02}"), organisation: org.id.clone(), name: format!("app {a}"), owner: "usr_bench".into(), created_at: now };
                    txn.open_table(tables::APPS)?.insert(app.id.as_str(), codec::encode(&app)?.as_slice())?;
                    txn.open_table(tables::APPS_BY_ORGANISATION)?.insert(format!("{}/{}", org.id, app.id).as_str(), &[][..])?;
                    for (p, product) in products.iter().enumerate() {
                        let suffix = format!("{o:06}_{a:02}_{p:02}");
                        let subscription = SubscriptionRecord {
                            id: format!("sub_{suffix}"),
                            app: app.id.clone(),
                            organisation: org.id.clone(),
                            product: product.clone(),
                            plan: plan.clone(),
                            certificates: Vec::new(),
                            credential: format!("crd_{suffix}"),
                            created_at: now,
                        };
                        let tokens = TokenState {
                            current: Some(TokenRecord { sha256: sha256_hex(&format!("token-{suffix}")), minted_at: now, expires_at: None }),
                            previous: None,
                            revoked_at: None,
                        };
                        let credential = CredentialRecord { id: subscription.credential.clone(), subscription: subscription.id.clone(), tokens, created_at: now };
                        let request = AccessRequestRecord {
                            id: format!("req_{suffix}"),
                            app: app.id.clone(),
                            organisation: org.id.clone(),
                            kind: RequestKind::Subscribe { product: product.clone(), plan: plan.clone(), certificate: None },
                            state: RequestState::Approved { by: "bench".into(), at: now },
                            certificate_der: None,
                            requested_by: "usr_bench".into(),
                            created_at: now,
                        };
                        txn.open_table(tables::SUBSCRIPTIONS)?.insert(subscription.id.as_str(), codec::encode(&subscription)?.as_slice())?;
                        txn.open_table(tables::CREDENTIALS)?.insert(credential.id.as_str(), codec::encode(&credential)?.as_slice())?;
                        txn.open_table(tables::ACCESS_REQUESTS)?.insert(request.id.as_str(), codec::encode(&request)?.as_slice())?;
                        let key = request_key(&request);
                        let mut lists = txn.open_table(tables::ACCESS_REQUESTS_BY)?;
                        for target in ["all".to_string(), "state:approved".to_string(), format!("org:{}", org.id), format!("app:{}", app.id)] {
                            lists.insert(format!("{target}/{key}").as_str(), &[][..])?;
                        }
                        txn.open_table(tables::APP_PRODUCT_CLAIMS)?.insert(format!("{}/{}", app.id, product).as_str(), &[][..])?;
                        // The subscription indexes (`portal::records`): `<kind>:<id>/<subscription>`.
                        let mut by = txn.open_table(tables::SUBSCRIPTIONS_BY)?;
                        for target in [format!("org:{}", org.id), format!("product:{product}"), format!("plan:{plan}"), format!("app:{}", app.id)] {
                            by.insert(format!("{target}/{}", subscription.id).as_str(), &[][..])?;
                        }
                        made.push(credential.id);
                    }
                }
                Ok(made)
            })
            .await
            .unwrap();
        organisation_ids.push(org_id);
        credential_ids.extend(made);
    }
    println!("loaded {} organisations, {} certificates, {} apps, {} credentials in {:.1} s", ORGANISATIONS, ORGANISATIONS * (CERTIFICATES_PER_ORGANISATION + 1), ORGANISATIONS * APPS_PER_ORGANISATION, credential_ids.len(), started.elapsed().as_secs_f64());

    let before_view = rss_kib();
    let started = Instant::now();
    let state = attach(&store).unwrap();
    let attach_ms = started.elapsed().as_secs_f64() * 1000.0;
    let after_view = rss_kib();
    println!("gateway view built in {attach_ms:.0} ms; {} key entries; RSS {} -> {} MiB", state.keys.len(), before_view / 1024, after_view / 1024);
    println!(
        "view memory per portal credential: {} bytes",
        (after_view.saturating_sub(before_view) * 1024) / credential_ids.len() as u64
    );

    println!();
    println!("| operation (100,000 credentials) | p50 ms | p95 ms | max ms | samples |");
    println!("|---|---|---|---|---|");
    let apps = Apps::new(store.clone());
    let requests = AccessRequests::new(store.clone());
    let credentials = Credentials::new(store.clone());
    let certificates = Certificates::new(store.clone());

    // Approve: a new app of an existing organisation asks for a product; the admin approves.
    let (mut create, mut approve) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        let consumer = Actor::Consumer { user: "usr_bench".into(), organisation: organisation_ids[i * 7 % ORGANISATIONS].clone(), role: certgate_services::accounts::OrgRole::OrgAdmin };
        let app = apps.create(&consumer, &format!("new app {i}")).await.unwrap();
        let t = Instant::now();
        let request = requests.create(&consumer, &app.id, NewRequest { product: products[0].clone(), plan: plan.clone(), certificate: None }).await.unwrap();
        create.push(t.elapsed());
        let t = Instant::now();
        requests.approve(&admin, &request.id).await.unwrap();
        approve.push(t.elapsed());
    }
    report("access request (created, view republished)", &mut create);
    report("approve", &mut approve);

    let mut revoke = Vec::new();
    for i in 0..SAMPLES {
        let t = Instant::now();
        credentials.revoke(&admin, &credential_ids[i * 2_477 % credential_ids.len()]).await.unwrap();
        revoke.push(t.elapsed());
    }
    report("revoke a credential", &mut revoke);

    let mut link = Vec::new();
    for (certificate, organisation) in spare_certificates.iter().take(SAMPLES) {
        let t = Instant::now();
        certificates.link_organisation(certificate, organisation, "bench").await.unwrap();
        link.push(t.elapsed());
    }
    report("link a certificate to an organisation", &mut link);

    let mut used_by = Vec::new();
    for _ in 0..SAMPLES {
        let t = Instant::now();
        let entry = certificates.get(&first_certificate).await.unwrap();
        std::hint::black_box(entry);
        used_by.push(t.elapsed());
    }
    report("a certificate with its \"used by\"", &mut used_by);

    let keys = Keys::new(store.clone());
    let spec = KeySpec { apis: vec![api_ids[0].clone()], bound_certificates: None, rate: None, quota: None, expires_at: None };
    let mut admin_key = Vec::new();
    for _ in 0..SAMPLES {
        let t = Instant::now();
        keys.create(spec.clone(), "bench").await.unwrap();
        admin_key.push(t.elapsed());
    }
    report("create an admin key (scoped publish)", &mut admin_key);

    // Lists: the services behind REST's lists (REST pages what they return).
    macro_rules! list {
        ($what:expr, $call:expr) => {{
            let mut samples = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                std::hint::black_box($call.await.unwrap());
                samples.push(t.elapsed());
            }
            report(&format!("list {}", $what), &mut samples);
        }};
    }
    list!("apps (first page of 50)", apps.page_admin(&admin, None, None, 50));
    list!("access requests (first page of 50, approved)", requests.page(&admin, Some("approved"), None, 50));
    list!("access requests (first page of 50, pending)", requests.page(&admin, Some("pending"), None, 50));
    list!("certificates (first page of 50)", certificates.page(Default::default(), None, 50));
    let overview = certgate_services::portal::overview::Overview::new(store.clone());
    list!("subscriptions (first page of 50)", overview.subscriptions(&admin, Default::default(), None, 50));
    list!("credentials (first page of 50)", overview.credentials(&admin, Default::default(), None, 50));
    let audit = certgate_services::audit::AuditLog::new(store.clone());
    list!("audit (first page of 50)", audit.page(&admin, Default::default(), None, 50));
    list!("organisations (whole list)", certgate_services::organisations::Organisations::new(store.clone()).list());
    let _ = Encoding::Pem;
}
