//! Mode switches and certificate rules on the real store and the real gateway view.

use certgate_core::gateway::DenialKind;
use certgate_core::portal::product::{CertificateMode, ProductSpec};
use certgate_testpki::{Issued, LeafSpec, TestPki};

use crate::portal::requests::NewRequest;
use crate::portal::Actor;
use crate::test_world::{code, world, World};

fn spec(w: &World, mode: CertificateMode) -> ProductSpec {
    w.product_spec("Payments", mode, true)
}

impl World {
    /// Subscribes a new app of `organisation` to `product` (Self-Serve with `own`), approves,
    /// mints; returns (consumer, credential id, token).
    async fn subscribe(&self, organisation: &str, product: &str, own: Option<&Issued>) -> (Actor, String, String) {
        let consumer = Actor::Consumer { user: format!("usr_{organisation}"), organisation: organisation.to_string(), role: crate::accounts::OrgRole::OrgAdmin };
        let app = self.apps.create(&consumer, "App").await.unwrap();
        let ask = NewRequest { product: product.to_string(), plan: self.plan.clone(), certificate: own.map(|c| c.cert_pem.as_bytes().to_vec()) };
        let request = self.requests.create(&consumer, &app.id, ask).await.unwrap();
        self.requests.approve(&self.admin, &request.id).await.unwrap();
        let credential = self.credentials.of_app(&consumer, &app.id).await.unwrap().pop().unwrap().credential.id;
        let token = self.credentials.mint(&consumer, &credential).await.unwrap();
        (consumer, credential, token)
    }

    fn users_of(&self, id: &str) -> impl std::future::Future<Output = Vec<String>> + '_ {
        let id = id.to_string();
        async move { self.certificates.get(&id).await.unwrap().used_by.into_iter().map(|u| format!("{}:{}", u.kind, u.id)).collect() }
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
    assert!(w.decide_chain(&[&acme_cert], &token).is_ok());
    assert!(w.users_of(&acme_id).await.is_empty(), "Managed: the organisation's link, no subscription of its own");

    w.products.update(&product, spec(&w, CertificateMode::SelfServe), "admin").await.unwrap();
    assert!(w.decide_chain(&[&acme_cert], &token).is_ok(), "the credential keeps its certificate");
    let users = w.users_of(&acme_id).await;
    assert!(users.len() == 1 && users[0].starts_with("subscription:sub_"), "{users:?}");
    // Self-Serve: the organisation's later links no longer reach the subscription.
    let later_id = w.upload(&later, Some(&w.acme)).await;
    assert_eq!(w.decide_chain(&[&later], &token), Err(DenialKind::ClientCertificateNotAllowed));

    // Back to Managed while the organisation has no certificate: refused, nothing changes.
    w.certificates.update_portal(&acme_id, None, Some(vec![]), "admin").await.unwrap();
    w.certificates.update_portal(&later_id, None, Some(vec![]), "admin").await.unwrap();
    assert_eq!(code(w.products.update(&product, spec(&w, CertificateMode::Managed), "admin").await), "organisation_has_no_certificate");
    assert_eq!(w.products.get(&product).await.unwrap().spec.certificate_mode, Some(CertificateMode::SelfServe));
    assert!(w.decide_chain(&[&acme_cert], &token).is_ok(), "the refusal changed nothing");

    // With a certificate linked, the switch drops the subscription's own and uses the link.
    w.certificates.link_organisation(&later_id, &w.acme, "admin").await.unwrap();
    w.products.update(&product, spec(&w, CertificateMode::Managed), "admin").await.unwrap();
    assert!(w.users_of(&acme_id).await.is_empty(), "the index follows");
    assert_eq!(w.decide_chain(&[&acme_cert], &token), Err(DenialKind::ClientCertificateNotAllowed));
    assert!(w.decide_chain(&[&later], &token).is_ok());
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
    assert!(w.decide_chain(&[&issued, &pki.intermediate], &token).is_ok(), "the CA covers the leaves it issues, with binding on");
}

#[tokio::test]
async fn forcing_the_deletion_of_a_self_serve_certificate_takes_it_off_the_subscription() {
    let w = world().await;
    let pki = TestPki::new();
    let mine = pki.leaf(&LeafSpec::client("mine"));
    let product = w.products.create(spec(&w, CertificateMode::SelfServe), "admin").await.unwrap().id;
    let (_, _, token) = w.subscribe(&w.acme, &product, Some(&mine)).await;
    assert!(w.decide_chain(&[&mine], &token).is_ok());
    let id = certgate_core::pki::parse_der(&mine.der).unwrap().id;
    assert_eq!(code(w.certificates.delete(&id, false, "admin").await), "certificate_in_use");
    w.certificates.delete(&id, true, "admin").await.unwrap();
    assert_eq!(w.decide_chain(&[&mine], &token), Err(DenialKind::ClientCertificateNotAllowed), "a deleted certificate is not allow-listed");
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
    assert!(w.decide_chain(&[&issued, &pki.intermediate], &token).is_ok());
}
