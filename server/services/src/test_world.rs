//! The world the portal's service tests run in: a real store with the gateway's view attached,
//! one mTLS API (`/pay`), one plan, the organisations Acme and Globex, and the services on them.

use certgate_core::gateway::chain::WebpkiChainCheck;
use certgate_core::gateway::spec::ApiSpec;
use certgate_core::gateway::{check_client_certificate, decide, DenialKind, PeerCertificate, Presented};
use certgate_core::pki::Encoding;
use certgate_core::portal::plan::PlanSpec;
use certgate_core::portal::product::{CertificateMode, ProductSpec};
use certgate_testpki::Issued;

use crate::apis::Apis;
use crate::certificates::Certificates;
use crate::gateway_view::{attach, SharedState};
use crate::organisations::Organisations;
use crate::plans::Plans;
use crate::portal::apps::Apps;
use crate::portal::credentials::Credentials;
use crate::portal::requests::AccessRequests;
use crate::portal::Actor;
use crate::products::Products;
use crate::store::Store;
use crate::ServiceError;

pub(crate) struct World {
    _dir: tempfile::TempDir,
    pub store: Store,
    pub state: SharedState,
    pub certificates: Certificates,
    pub apps: Apps,
    pub requests: AccessRequests,
    pub credentials: Credentials,
    pub products: Products,
    pub organisations: Organisations,
    pub api: String,
    pub plan: String,
    pub admin: Actor,
    /// Acme's and Globex's organisation ids.
    pub acme: String,
    pub globex: String,
}

pub(crate) async fn world() -> World {
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
    World::on(dir, store, state, Places { api, plan, acme, globex })
}

/// The ids a world is made of, beside its store.
struct Places {
    api: String,
    plan: String,
    acme: String,
    globex: String,
}

impl World {
    fn on(dir: tempfile::TempDir, store: Store, state: SharedState, places: Places) -> World {
        let Places { api, plan, acme, globex } = places;
        World {
            _dir: dir,
            state,
            certificates: Certificates::new(store.clone()),
            apps: Apps::new(store.clone()),
            requests: AccessRequests::new(store.clone()),
            credentials: Credentials::new(store.clone()),
            products: Products::new(store.clone()),
            organisations: Organisations::new(store.clone()),
            store,
            api,
            plan,
            admin: Actor::Admin { name: "admin".into() },
            acme,
            globex,
        }
    }

    /// The same world after its store closed and opened again, as at a restart.
    pub async fn reopen(self) -> World {
        let World { _dir: dir, store, state, certificates, apps, requests, credentials, products, organisations, api, plan, acme, globex, .. } = self;
        drop((state, certificates, apps, requests, credentials, products, organisations));
        assert!(store.close(std::time::Duration::from_secs(5)).await);
        let store = Store::open(dir.path()).unwrap();
        let state = attach(&store).unwrap();
        World::on(dir, store, state, Places { api, plan, acme, globex })
    }
}

impl World {
    /// A published product of the API with the plan.
    pub fn product_spec(&self, name: &str, mode: CertificateMode, binding: bool) -> ProductSpec {
        ProductSpec {
            name: name.to_string(),
            description: String::new(),
            apis: vec![self.api.clone()],
            plans: vec![self.plan.clone()],
            published: true,
            visible_to: None,
            certificate_mode: Some(mode),
            certificate_binding: binding,
        }
    }

    /// Creates a product (named after its mode and binding); returns its id.
    pub async fn product(&self, mode: CertificateMode, binding: bool) -> String {
        let spec = self.product_spec(&format!("{mode:?} {binding}"), mode, binding);
        self.products.create(spec, "admin").await.unwrap().id
    }

    /// Uploads a certificate, linked to `organisation` if given; returns its id.
    pub async fn upload(&self, cert: &Issued, organisation: Option<&str>) -> String {
        let id = self.certificates.add(cert.cert_pem.as_bytes(), Encoding::Pem, "admin").await.unwrap().record.facts.id;
        if let Some(org) = organisation {
            self.certificates.link_organisation(&id, org, "admin").await.unwrap();
        }
        id
    }

    /// The gateway's decision for this certificate and token on the API, now.
    pub fn decide(&self, cert: &Issued, token: &str) -> Result<Option<String>, DenialKind> {
        self.decide_chain(&[cert], token)
    }

    /// The gateway's decision for this chain (leaf first) and token on the API, now.
    pub fn decide_chain(&self, chain: &[&Issued], token: &str) -> Result<Option<String>, DenialKind> {
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
}

/// The stable code of a refusal ("not_found", "forbidden" for those without one).
pub(crate) fn code<T: std::fmt::Debug>(result: Result<T, ServiceError>) -> &'static str {
    match result {
        Err(ServiceError::Invalid { code, .. } | ServiceError::Conflict { code, .. }) => code,
        Err(ServiceError::NotFound { .. }) => "not_found",
        Err(ServiceError::Forbidden { .. }) => "forbidden",
        other => panic!("expected a refusal, got {other:?}"),
    }
}
