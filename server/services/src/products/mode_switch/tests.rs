//! Mode switches and certificate rules on the real store and the real gateway view.

use certgate_core::gateway::chain::WebpkiChainCheck;
use certgate_core::gateway::spec::ApiSpec;
use certgate_core::gateway::{check_client_certificate, decide, DenialKind, PeerCertificate, Presented};
use certgate_core::pki::Encoding;
use certgate_core::portal::plan::PlanSpec;
use certgate_core::portal::product::{CertificateMode, ProductSpec};
use certgate_testpki::{Issued, LeafSpec, TestPki};

use crate::apis::Apis;
use crate::certificates::Certificates;
use crate::gateway_view::{attach, SharedState};
use crate::organisations::Organisations;
use crate::plans::Plans;
use crate::portal::apps::Apps;
use crate::portal::credentials::Credentials;
use crate::portal::requests::{AccessRequests, NewRequest};
use crate::portal::Actor;
use crate::products::Products;
use crate::store::Store;
use crate::ServiceError;

struct World {
    _dir: tempfile::TempDir,
    state: SharedState,
    certificates: Certificates,
    apps: Apps,
    requests: AccessRequests,
    credentials: Credentials,
    products: Products,
    api: String,
    plan: String,
    acme: String,
    globex: String,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let state = attach(&store).unwrap();
    let spec: ApiSpec = serde_json::from_value(serde_json::json!({
        "name": "payments", "listen_path": "/pay", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token", "mtls": {"required": true}
    }))
    .unwrap();
    let api = Apis::new(store.clone()).create(spec, "admin").await.unwrap().id;
    let plan = PlanSpec { name: "Gold".into(), rate: None, quota: None, auto_approve: false, token_lifetime_seconds: None };
    let plan = Plans::new(store.clone()).create(plan, "admin").await.unwrap().id;
    let organisations = Organisations::new(store.clone());
    let acme = organisations.create("Acme").await.unwrap().id;
    let globex = organisations.create("Globex").await.unwrap().id;
    World {
        _dir: dir,
        state,
        certificates: Certificates::new(store.clone()),
        apps: Apps::new(store.clone()),
        requests: AccessRequests::new(store.clone()),
        credentials: Credentials::new(store.clone()),
        products: Products::new(store),
        api,
        plan,
        acme,
        globex,
    }
}

fn spec(w: &World, mode: CertificateMode) -> ProductSpec {
    ProductSpec {
        name: "Payments".into(),
        description: String::new(),
        apis: vec![w.api.clone()],
        plans: vec![w.plan.clone()],
        published: true,
        visible_to: None,
        certificate_mode: Some(mode),
        certificate_binding: true,
    }
}

fn admin() -> Actor {
    Actor::Admin { name: "admin".into() }
}

impl World {
    async fn upload(&self, cert: &Issued, organisation: Option<&str>) -> String {
        let id = self.certificates.add(cert.cert_pem.as_bytes(), Encoding::Pem, "admin").await.unwrap().record.facts.id;
        if let Some(org) = organisation {
            self.certificates.link_organisation(&id, org, "admin").await.unwrap();
        }
        id
    }

    /// Subscribes a new app of `organisation` to `product` (Self-Serve with `own`), approves,
    /// mints; returns (consumer, credential id, token).
    async fn subscribe(&self, organisation: &str, product: &str, own: Option<&Issued>) -> (Actor, String, String) {
        let consumer = Actor::Consumer { user: format!("usr_{organisation}"), organisation: organisation.to_string(), role: crate::accounts::OrgRole::OrgAdmin };
        let app = self.apps.create(&consumer, "App").await.unwrap();
        let ask = NewRequest { product: product.to_string(), plan: self.plan.clone(), certificate: own.map(|c| c.cert_pem.as_bytes().to_vec()) };
        let request = self.requests.create(&consumer, &app.id, ask).await.unwrap();
        self.requests.approve(&admin(), &request.id).await.unwrap();
        let credential = self.credentials.of_app(&consumer, &app.id).await.unwrap().pop().unwrap().credential.id;
        let token = self.credentials.mint(&consumer, &credential).await.unwrap();
        (consumer, credential, token)
    }

    fn decide(&self, chain: &[&Issued], token: &str) -> Result<Option<String>, DenialKind> {
        let view = self.state.view.load();
        let api = view.route("/pay").expect("the API is routed");
        let ders: Vec<Vec<u8>> = chain.iter().map(|c| c.der.clone()).collect();
        let peer = PeerCertificate::new(&ders).unwrap();
        let now = crate::clock::now();
        check_client_certificate(api, Some(&peer), now, &WebpkiChainCheck).map_err(|d| d.kind)?;
        decide(&self.state.keys, api, Some(&peer), Presented { bearer: Some(token) }, now, &WebpkiChainCheck, None)
            .map(|grant| grant.limits_key)
            .map_err(|d| d.kind)
    }

    fn users_of(&self, id: &str) -> impl std::future::Future<Output = Vec<String>> + '_ {
        let id = id.to_string();
        async move { self.certificates.get(&id).await.unwrap().used_by.into_iter().map(|u| format!("{}:{}", u.kind, u.id)).collect() }
    }
}

fn code<T: std::fmt::Debug>(result: Result<T, ServiceError>) -> &'static str {
    match result {
        Err(ServiceError::Invalid { code, .. } | ServiceError::Conflict { code, .. }) => code,
        Err(ServiceError::NotFound { .. }) => "not_found",
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn managed_to_self_serve_keeps_the_organisations_certificates_and_back_needs_one() {
    let w = world().await;
    let pki = TestPki::new();
    let (acme_cert, later) = (pki.leaf(&LeafSpec::client("acme")), pki.leaf(&LeafSpec::client("later")));
    let acme_id = w.upload(&acme_cert, Some(&w.acme)).await;
    let product = w.products.create(spec(&w, CertificateMode::Managed), "admin").await.unwrap().id;
    let (_, _, token) = w.subscribe(&w.acme, &product, None).await;
    assert!(w.decide(&[&acme_cert], &token).is_ok());
    assert!(w.users_of(&acme_id).await.is_empty(), "Managed: the organisation's link, no subscription of its own");

    w.products.update(&product, spec(&w, CertificateMode::SelfServe), "admin").await.unwrap();
    assert!(w.decide(&[&acme_cert], &token).is_ok(), "the credential keeps its certificate");
    let users = w.users_of(&acme_id).await;
    assert!(users.len() == 1 && users[0].starts_with("subscription:sub_"), "{users:?}");
    // Self-Serve: the organisation's later links no longer reach the subscription.
    let later_id = w.upload(&later, Some(&w.acme)).await;
    assert_eq!(w.decide(&[&later], &token), Err(DenialKind::ClientCertificateNotAllowed));

    // Back to Managed while the organisation has no certificate: refused, nothing changes.
    w.certificates.update_portal(&acme_id, None, Some(vec![]), "admin").await.unwrap();
    w.certificates.update_portal(&later_id, None, Some(vec![]), "admin").await.unwrap();
    assert_eq!(code(w.products.update(&product, spec(&w, CertificateMode::Managed), "admin").await), "organisation_has_no_certificate");
    assert_eq!(w.products.get(&product).await.unwrap().spec.certificate_mode, Some(CertificateMode::SelfServe));
    assert!(w.decide(&[&acme_cert], &token).is_ok(), "the refusal changed nothing");

    // With a certificate linked, the switch drops the subscription's own and uses the link.
    w.certificates.link_organisation(&later_id, &w.acme, "admin").await.unwrap();
    w.products.update(&product, spec(&w, CertificateMode::Managed), "admin").await.unwrap();
    assert!(w.users_of(&acme_id).await.is_empty(), "the index follows");
    assert_eq!(w.decide(&[&acme_cert], &token), Err(DenialKind::ClientCertificateNotAllowed));
    assert!(w.decide(&[&later], &token).is_ok());
}

#[tokio::test]
async fn a_ca_is_linked_to_one_organisation_and_covers_its_leaves() {
    let w = world().await;
    let pki = TestPki::new();
    let ca = w.upload(&pki.intermediate, Some(&w.acme)).await;
    assert_eq!(code(w.certificates.link_organisation(&ca, &w.globex, "admin").await), "ca_linked_elsewhere");
    let both = Some(vec![w.acme.clone(), w.globex.clone()]);
    assert_eq!(code(w.certificates.update_portal(&ca, Some("renamed"), both, "admin").await), "ca_linked_elsewhere");
    let entry = w.certificates.get(&ca).await.unwrap();
    assert_eq!((entry.meta.display_name, entry.meta.organisation_ids.len()), (None, 1), "a refusal changes nothing");
    // Moving it is not a second link.
    w.certificates.update_portal(&ca, None, Some(vec![w.globex.clone()]), "admin").await.unwrap();
    w.certificates.update_portal(&ca, None, Some(vec![w.acme.clone()]), "admin").await.unwrap();
    // Leaves may be shared.
    let shared = w.upload(&pki.leaf(&LeafSpec::client("shared")), Some(&w.acme)).await;
    w.certificates.link_organisation(&shared, &w.globex, "admin").await.unwrap();

    let product = w.products.create(spec(&w, CertificateMode::Managed), "admin").await.unwrap().id;
    let (_, _, token) = w.subscribe(&w.acme, &product, None).await;
    let issued = pki.leaf(&LeafSpec::client("issued by the CA"));
    assert!(w.decide(&[&issued, &pki.intermediate], &token).is_ok(), "the CA covers the leaves it issues, with binding on");
}

#[tokio::test]
async fn forcing_the_deletion_of_a_self_serve_certificate_takes_it_off_the_subscription() {
    let w = world().await;
    let pki = TestPki::new();
    let mine = pki.leaf(&LeafSpec::client("mine"));
    let product = w.products.create(spec(&w, CertificateMode::SelfServe), "admin").await.unwrap().id;
    let (_, _, token) = w.subscribe(&w.acme, &product, Some(&mine)).await;
    assert!(w.decide(&[&mine], &token).is_ok());
    let id = certgate_core::pki::parse_der(&mine.der).unwrap().id;
    assert_eq!(code(w.certificates.delete(&id, false, "admin").await), "certificate_in_use");
    w.certificates.delete(&id, true, "admin").await.unwrap();
    assert_eq!(w.decide(&[&mine], &token), Err(DenialKind::ClientCertificateNotAllowed), "a deleted certificate is not allow-listed");
    // Uploaded again, it is a new entry that nothing uses.
    let again = w.upload(&mine, None).await;
    assert!(w.users_of(&again).await.is_empty(), "no dangling reference");
}

#[tokio::test]
async fn a_ca_held_by_a_self_serve_subscription_is_not_linked_to_another_organisation() {
    let w = world().await;
    let pki = TestPki::new();
    let ca = w.upload(&pki.intermediate, Some(&w.acme)).await;
    let product = w.products.create(spec(&w, CertificateMode::Managed), "admin").await.unwrap().id;
    let (_, _, token) = w.subscribe(&w.acme, &product, None).await;
    w.products.update(&product, spec(&w, CertificateMode::SelfServe), "admin").await.unwrap();
    // Acme's subscription holds the CA now: moving the link to Globex would give it two owners.
    assert_eq!(code(w.certificates.update_portal(&ca, None, Some(vec![w.globex.clone()]), "admin").await), "ca_linked_elsewhere");
    assert_eq!(code(w.certificates.link_organisation(&ca, &w.globex, "admin").await), "ca_linked_elsewhere");
    // Unlinking it from Acme itself is fine: the subscription still holds it.
    w.certificates.update_portal(&ca, None, Some(vec![]), "admin").await.unwrap();
    let issued = pki.leaf(&LeafSpec::client("issued"));
    assert!(w.decide(&[&issued, &pki.intermediate], &token).is_ok());
}
