//! The seed's rules on the real store and the real gateway view (core's decision on it):
//! Managed and Self-Serve approval, binding, token lifecycle, revocation, and another
//! organisation's ids answering NotFound.

use certgate_core::gateway::DenialKind;
use certgate_core::portal::product::{CertificateMode, ProductSpec};
use certgate_testpki::{LeafSpec, TestPki};

use super::requests::NewRequest;
use super::Actor;
use crate::accounts::OrgRole;
use crate::apis::Apis;
use crate::test_world::{code, world};
use crate::ServiceError;

#[tokio::test]
async fn managed_approval_binding_rotation_and_revocation_on_the_gateway_view() {
    let w = world().await;
    let pki = TestPki::new();
    let (acme_cert, globex_cert) = (pki.leaf(&LeafSpec::client("acme")), pki.leaf(&LeafSpec::client("globex")));
    let (acme, globex) = (w.acme.clone(), w.globex.clone());
    let product = w.product(CertificateMode::Managed, true).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: acme.clone(), role: OrgRole::Member };
    let bob = Actor::Consumer { user: "usr_bob".into(), organisation: globex.clone(), role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let ask = || NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None };

    // Managed: no certificate linked to the organisation yet -> refused, saying whom to ask.
    assert_eq!(code(w.requests.create(&alice, &app.id, ask()).await), "organisation_has_no_certificate");
    w.upload(&acme_cert, Some(&acme)).await;
    w.upload(&globex_cert, Some(&globex)).await;
    // Another organisation's app is not found, exactly like a missing one.
    assert_eq!(code(w.requests.create(&bob, &app.id, ask()).await), "not_found");
    let request = w.requests.create(&alice, &app.id, ask()).await.unwrap();
    assert_eq!(code(w.requests.create(&alice, &app.id, ask()).await), "already_subscribed");
    assert_eq!(code(w.requests.approve(&alice, &request.id).await), "forbidden");
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    assert_eq!(code(w.requests.approve(&w.admin, &request.id).await), "request_not_pending");

    // The organisation's certificate joined the allow list; the credential has no token yet.
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    assert!(credential.credential.tokens.current.is_none());
    assert_eq!(w.decide(&acme_cert, "cgk_nothing"), Err(DenialKind::CredentialInvalid), "acme's certificate passes mTLS now");
    assert_eq!(w.decide(&globex_cert, "cgk_nothing"), Err(DenialKind::ClientCertificateNotAllowed));
    assert_eq!(code(w.credentials.mint(&w.admin, &credential.credential.id).await), "forbidden", "the admin never sees a token");
    assert_eq!(code(w.credentials.mint(&bob, &credential.credential.id).await), "not_found");
    let token = w.credentials.mint(&alice, &credential.credential.id).await.unwrap();
    assert_eq!(code(w.credentials.mint(&alice, &credential.credential.id).await), "token_already_minted");
    assert_eq!(w.decide(&acme_cert, &token), Ok(Some(credential.subscription.id.clone())), "limits count by the subscription");

    // Binding: globex's own approved credential puts its certificate on the same API; acme's
    // token with globex's (allow-listed) certificate is the misuse binding prevents.
    let globex_app = w.apps.create(&bob, "Globex app").await.unwrap();
    let globex_request = w.requests.create(&bob, &globex_app.id, ask()).await.unwrap();
    w.requests.approve(&w.admin, &globex_request.id).await.unwrap();
    assert_eq!(w.decide(&globex_cert, &token), Err(DenialKind::CertificateBindingMismatch));

    // Suspending the organisation refuses its credentials at once; resuming restores them.
    w.organisations.set_suspended(&acme, true, "admin").await.unwrap();
    assert_eq!(w.decide(&acme_cert, &token), Err(DenialKind::ClientCertificateNotAllowed));
    assert!(matches!(w.organisations.delete(&acme).await, Err(ServiceError::Conflict { code: "organisation_in_use", .. })), "it has apps");
    w.organisations.set_suspended(&acme, false, "admin").await.unwrap();
    assert!(w.decide(&acme_cert, &token).is_ok());

    // Rotation with an overlap: both tokens work; revocation ends both and the certificate
    // leaves the allow list (globex's stays: its own credential holds it).
    let rotated = w.credentials.rotate(&alice, &credential.credential.id, 3600).await.unwrap();
    assert!(w.decide(&acme_cert, &token).is_ok() && w.decide(&acme_cert, &rotated).is_ok());
    w.credentials.revoke(&alice, &credential.credential.id).await.unwrap();
    assert_eq!(w.decide(&acme_cert, &rotated), Err(DenialKind::ClientCertificateNotAllowed));
    assert_eq!(w.decide(&globex_cert, &rotated), Err(DenialKind::CredentialInvalid));
}

#[tokio::test]
async fn self_serve_takes_a_usable_certificate_and_registers_it_on_approval() {
    let w = world().await;
    let acme = w.acme.clone();
    let product = w.product(CertificateMode::SelfServe, true).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: acme, role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let pki = TestPki::new();
    let mine = pki.leaf(&LeafSpec::client("mine"));
    let with = |body: &str| NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: Some(body.as_bytes().to_vec()) };

    assert_eq!(code(w.requests.create(&alice, &app.id, NewRequest { certificate: None, ..with("") }).await), "certificate_required");
    assert_eq!(code(w.requests.create(&alice, &app.id, with(&mine.key_pem)).await), "private_key_not_certificate");
    let expired = pki.leaf(&LeafSpec::client("old").expired());
    assert_eq!(code(w.requests.create(&alice, &app.id, with(&expired.cert_pem)).await), "certificate_not_usable");
    assert_eq!(code(w.requests.create(&alice, &app.id, with(&pki.intermediate.cert_pem)).await), "certificate_not_usable");
    assert!(w.requests.list(&w.admin, None).await.unwrap().is_empty(), "refusals store nothing");

    let request = w.requests.create(&alice, &app.id, with(&mine.cert_pem)).await.unwrap();
    assert_eq!(w.decide(&mine, "cgk_x"), Err(DenialKind::ClientCertificateNotAllowed), "not before approval");
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let id = certgate_core::pki::parse_der(&mine.der).unwrap().id;
    assert_eq!(w.certificates.get(&id).await.unwrap().used_by[0].kind, "subscription", "registered in the provider store");
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    let token = w.credentials.mint(&alice, &credential.credential.id).await.unwrap();
    assert!(w.decide(&mine, &token).is_ok());

    assert_eq!(code(w.products.delete(&product, "admin").await), "product_in_use");
    // Deleting the app revokes everything it held.
    w.apps.delete(&alice, &app.id).await.unwrap();
    assert_eq!(w.decide(&mine, &token), Err(DenialKind::ClientCertificateNotAllowed));
}

/// A portal credential's quota counter is its subscription's: saved and loaded like an admin
/// key's, kept while the credential is only revoked, dropped when the subscription ends.
#[tokio::test]
async fn a_subscriptions_saved_quota_counter_lives_as_long_as_the_subscription() {
    use crate::usage::{QuotaUsageRecord, Usage};
    let w = world().await;
    let product = w.product(CertificateMode::SelfServe, false).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let mine = TestPki::new().leaf(&LeafSpec::client("mine"));
    let ask = NewRequest { product, plan: w.plan.clone(), certificate: Some(mine.cert_pem.into_bytes()) };
    let request = w.requests.create(&alice, &app.id, ask).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    let subscription = credential.subscription.id.clone();
    let usage = Usage::new(w.store.clone());
    let counted = QuotaUsageRecord { window_start: 1_771_027_200, used: 7 };

    usage.save(vec![(subscription.clone(), counted)]).await.unwrap();
    assert_eq!(usage.load_blocking().unwrap(), [(subscription.clone(), counted)], "saved under the subscription");
    w.credentials.revoke(&alice, &credential.credential.id).await.unwrap();
    assert_eq!(usage.load_blocking().unwrap(), [(subscription.clone(), counted)], "a revoked credential's subscription keeps its count");
    assert!(usage.ended(vec![subscription.clone()]).await.unwrap().is_empty());

    w.apps.delete(&alice, &app.id).await.unwrap();
    assert!(usage.load_blocking().unwrap().is_empty(), "an ended subscription's counter is dropped");
    assert_eq!(usage.ended(vec![subscription.clone()]).await.unwrap(), std::slice::from_ref(&subscription));
    usage.save(vec![(subscription, counted)]).await.unwrap();
    assert!(usage.load_blocking().unwrap().is_empty(), "and a late save does not bring it back");
}

mod lifecycle;

/// A store written by schema 3 has no subscription or organisation-certificate indexes: opening
/// it builds them, so the view derives Managed credentials' certificates from the start and
/// later changes reach the subscriptions they must.
#[tokio::test]
async fn a_schema_3_store_gets_the_portal_indexes_and_changes_still_reach_its_credentials() {
    use crate::store::{tables, StoreError};
    let w = world().await;
    let pki = TestPki::new();
    let acme_cert = pki.leaf(&LeafSpec::client("acme"));
    let cert_id = w.upload(&acme_cert, Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, true).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let request = w.requests.create(&alice, &app.id, NewRequest { product, plan: w.plan.clone(), certificate: None }).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    let token = w.credentials.mint(&alice, &credential.credential.id).await.unwrap();
    assert!(w.decide(&acme_cert, &token).is_ok());
    w.store
        .write(|txn| {
            txn.open_table(tables::SUBSCRIPTIONS_BY)?.retain(|_, _| false).map_err(StoreError::from)?;
            txn.open_table(tables::ORGANISATION_CERTIFICATES)?.retain(|_, _| false).map_err(StoreError::from)?;
            txn.open_table(tables::META)?.insert("schema_version", "3").map_err(StoreError::from)?;
            Ok(())
        })
        .await
        .unwrap();
    let w = w.reopen().await;
    assert!(w.decide(&acme_cert, &token).is_ok(), "the organisation's certificate is found at start");
    w.organisations.set_suspended(&w.acme, true, "admin").await.unwrap();
    assert_eq!(w.decide(&acme_cert, &token), Err(DenialKind::ClientCertificateNotAllowed), "suspension reaches the subscription");
    w.organisations.set_suspended(&w.acme, false, "admin").await.unwrap();
    assert!(w.decide(&acme_cert, &token).is_ok());
    w.certificates.unlink_organisation(&cert_id, &w.acme, "admin").await.unwrap();
    assert_eq!(w.decide(&acme_cert, &token), Err(DenialKind::ClientCertificateNotAllowed), "the unlink reaches the subscription");
}

/// `?dry_run=true`: the write runs and is aborted; the answer says what it would change, and
/// neither the store nor the gateway's view changes.
#[tokio::test]
async fn a_dry_run_previews_a_revocation_and_changes_nothing() {
    use super::credentials::CredentialRecord;
    use crate::store::{codec, tables};
    use redb::ReadableTable;
    let w = world().await;
    let pki = TestPki::new();
    let acme_cert = pki.leaf(&LeafSpec::client("acme"));
    let cert_id = w.upload(&acme_cert, Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, false).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let request = w.requests.create(&alice, &app.id, NewRequest { product, plan: w.plan.clone(), certificate: None }).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    let token = w.credentials.mint(&alice, &credential.credential.id).await.unwrap();
    let generation = w.state.view.load().generation;

    let id = credential.credential.id.clone();
    let (_, preview) = w
        .store
        .dry_run(move |txn| {
            let mut record: CredentialRecord = codec::decode("credentials", &id, txn.open_table(tables::CREDENTIALS)?.get(id.as_str())?.unwrap().value())?;
            record.tokens = record.tokens.revoke(crate::clock::now());
            super::records::put_credential(txn, &record)
        })
        .await
        .unwrap();
    assert_eq!(preview.credentials.len(), 1);
    assert!(preview.credentials[0].before.is_some() && preview.credentials[0].after.is_none());
    assert_eq!(preview.credentials_stop_working, 1);
    assert_eq!(preview.allow_lists.len(), 1);
    assert_eq!(preview.allow_lists[0].leaving, vec![cert_id.clone()]);

    assert_eq!(w.state.view.load().generation, generation, "the view is the same one");
    assert!(w.decide(&acme_cert, &token).is_ok(), "nothing was revoked");
    let stored = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    assert!(stored.credential.tokens.revoked_at.is_none());
    // The view keeps following real writes after a dry run.
    w.credentials.revoke(&alice, &credential.credential.id).await.unwrap();
    assert_eq!(w.decide(&acme_cert, &token), Err(DenialKind::ClientCertificateNotAllowed));
}

/// A rotated-out token's entry stays in the gateway's map after its overlap ends (the gateway
/// refuses it by its end time, per request). The next write must go through (debug builds check
/// every change against a whole derivation: an expired entry is not a drift).
#[tokio::test]
async fn writes_after_a_rotation_overlap_ends_go_through_and_the_old_token_is_refused() {
    let w = world().await;
    let pki = TestPki::new();
    let (acme_cert, globex_cert) = (pki.leaf(&LeafSpec::client("acme")), pki.leaf(&LeafSpec::client("globex")));
    w.upload(&acme_cert, Some(&w.acme)).await;
    w.upload(&globex_cert, Some(&w.globex)).await;
    let product = w.product(CertificateMode::Managed, true).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let bob = Actor::Consumer { user: "usr_bob".into(), organisation: w.globex.clone(), role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let request = w.requests.create(&alice, &app.id, NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None }).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    let old = w.credentials.mint(&alice, &credential.credential.id).await.unwrap();
    let new = w.credentials.rotate(&alice, &credential.credential.id, 1).await.unwrap();
    assert!(w.decide(&acme_cert, &old).is_ok());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(w.decide(&acme_cert, &old), Err(DenialKind::CredentialInvalid), "the overlap has ended");

    // Another organisation's approval: a change set that does not reach alice's credential.
    let globex_app = w.apps.create(&bob, "Globex app").await.unwrap();
    let request = w.requests.create(&bob, &globex_app.id, NewRequest { product, plan: w.plan.clone(), certificate: None }).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    assert_eq!(w.decide(&acme_cert, &old), Err(DenialKind::CredentialInvalid));
    assert!(w.decide(&acme_cert, &new).is_ok());
    w.credentials.revoke(&alice, &credential.credential.id).await.unwrap();
    assert_eq!(w.decide(&acme_cert, &new), Err(DenialKind::ClientCertificateNotAllowed));
}

/// A product made of Auth Token APIs without mTLS has no certificate mode; when one of its APIs
/// starts requiring mTLS, the product works as Managed (the organisation's certificates). A
/// later switch to Self-Serve must carry those certificates over, as from a stored Managed mode.
#[tokio::test]
async fn a_product_managed_because_its_api_gained_mtls_keeps_its_certificates_when_switched_to_self_serve() {
    let w = world().await;
    let apis = Apis::new(w.store.clone());
    let set_mtls = |required: bool| {
        let (apis, api) = (apis.clone(), w.api.clone());
        async move { apis.modify(&api, "admin", "api.updated", move |spec| {
                spec.mtls.required = required;
                Ok(())
            })
            .await
            .unwrap()
        }
    };
    set_mtls(false).await;
    let mut spec = ProductSpec {
        name: "Open".into(),
        description: String::new(),
        apis: vec![w.api.clone()],
        plans: vec![w.plan.clone()],
        published: true,
        visible_to: None,
        certificate_mode: None,
        certificate_binding: false,
    };
    let product = w.products.create(spec.clone(), "admin").await.unwrap().id;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let request = w.requests.create(&alice, &app.id, NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None }).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    let token = w.credentials.mint(&alice, &credential.credential.id).await.unwrap();
    let pki = TestPki::new();
    let acme_cert = pki.leaf(&LeafSpec::client("acme"));
    w.upload(&acme_cert, Some(&w.acme)).await;

    set_mtls(true).await;
    assert!(w.decide(&acme_cert, &token).is_ok(), "Managed by its APIs: the organisation's certificate");
    spec.certificate_mode = Some(CertificateMode::SelfServe);
    w.products.update(&product, spec, "admin").await.unwrap();
    assert!(w.decide(&acme_cert, &token).is_ok(), "Self-Serve keeps the certificates it worked with");
}

/// A record the view cannot derive from (corrupt) must not block a revocation: the write
/// commits, the change cannot be computed, the whole rebuild fails too, and the gateway fails
/// closed (every request refused) rather than keep the revoked credential working.
#[tokio::test]
async fn a_revocation_commits_even_when_the_view_change_cannot_be_computed_and_the_gateway_fails_closed() {
    use crate::store::tables;
    let w = world().await;
    let pki = TestPki::new();
    let acme_cert = pki.leaf(&LeafSpec::client("acme"));
    w.upload(&acme_cert, Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, true).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let request = w.requests.create(&alice, &app.id, NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None }).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap().credential.id;
    let token = w.credentials.mint(&alice, &credential).await.unwrap();
    assert!(w.decide(&acme_cert, &token).is_ok());

    // The product's record is corrupted behind the services' back (a plain write: unpublished).
    let id = product.clone();
    w.store
        .write(move |txn| {
            txn.open_table(tables::PRODUCTS)?.insert(id.as_str(), &b"\x01not json"[..])?;
            Ok(())
        })
        .await
        .unwrap();
    w.credentials.revoke(&alice, &credential).await.expect("a revocation is never refused for want of a view change");
    let stored = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap();
    assert!(stored.credential.tokens.revoked_at.is_some(), "committed");
    assert!(!w.state.is_consistent(), "the view could not follow: the gateway refuses every request");
}

/// Access requests and certificates are paged in the store: newest (soonest expiring) first,
/// each page starting after the last key of the one before, a filter excluding what it does
/// not match, and every item on exactly one page.
#[tokio::test]
async fn requests_and_certificates_page_in_the_store_without_gaps_or_repeats() {
    let w = world().await;
    let pki = TestPki::new();
    w.upload(&pki.leaf(&LeafSpec::client("acme")), Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, false).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::OrgAdmin };
    let mut made = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        let app = w.apps.create(&alice, name).await.unwrap();
        made.push(w.requests.create(&alice, &app.id, NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None }).await.unwrap().id);
    }
    w.requests.approve(&w.admin, &made[1]).await.unwrap();
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = w.requests.page(&w.admin, Some("pending"), after.clone(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        after = page.items.last().map(super::records::request_key);
        seen.extend(page.items.into_iter().map(|r| r.id));
        if !page.more {
            break;
        }
    }
    let mut expected: Vec<String> = made.iter().filter(|id| **id != made[1]).cloned().collect();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "each pending request once, the approved one on no page");
    assert_eq!(w.requests.page(&alice, None, None, 50).await.unwrap().items.len(), 5, "the consumer's organisation list");
    let bob = Actor::Consumer { user: "usr_bob".into(), organisation: w.globex.clone(), role: OrgRole::OrgAdmin };
    assert!(w.requests.page(&bob, None, None, 50).await.unwrap().items.is_empty(), "another organisation's list is empty");

    for i in 0..4 {
        w.upload(&pki.leaf(&LeafSpec::client(&format!("c{i}"))), None).await;
    }
    let (mut ids, mut after) = (Vec::new(), None);
    loop {
        let (entries, more) = w.certificates.page(Default::default(), after.clone(), 2).await.unwrap();
        after = entries.last().map(|e| crate::certificates::expiry_key(&e.record.facts));
        ids.extend(entries.iter().map(|e| (e.record.facts.not_after, e.record.facts.id.clone())));
        if !more {
            break;
        }
    }
    assert_eq!(ids.len(), 5);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "soonest expiry first");
}

/// A revoked credential ends its subscription: the app may ask for the product again, and the
/// revoked subscription no longer protects the product or its plan from deletion.
#[tokio::test]
async fn after_a_revocation_the_app_may_ask_again_and_the_product_may_be_deleted() {
    let w = world().await;
    let pki = TestPki::new();
    let acme_cert = pki.leaf(&LeafSpec::client("acme"));
    w.upload(&acme_cert, Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, true).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let ask = || NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None };
    let request = w.requests.create(&alice, &app.id, ask()).await.unwrap();
    assert_eq!(code(w.requests.create(&alice, &app.id, ask()).await), "already_subscribed");
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    assert_eq!(code(w.products.delete(&product, "admin").await), "product_in_use");
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap().credential.id;
    w.credentials.revoke(&alice, &credential).await.unwrap();

    let again = w.requests.create(&alice, &app.id, ask()).await.expect("the ended subscription no longer holds the product");
    w.requests.withdraw(&alice, &again.id).await.unwrap();
    w.products.delete(&product, "admin").await.expect("only a revoked subscription uses it");
}

/// The admin's tabs count each state from the index: every state its own count, a request that
/// changes state moves from one count to the other, and a consumer may not count.
#[tokio::test]
async fn requests_are_counted_per_state_from_the_index() {
    let w = world().await;
    let pki = TestPki::new();
    w.upload(&pki.leaf(&LeafSpec::client("acme")), Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, false).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::OrgAdmin };
    assert!(w.requests.counts(&w.admin).await.unwrap().is_empty());
    let mut made = Vec::new();
    for name in ["a", "b", "c", "d", "e", "f"] {
        let app = w.apps.create(&alice, name).await.unwrap();
        made.push(w.requests.create(&alice, &app.id, NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None }).await.unwrap().id);
    }
    w.requests.approve(&w.admin, &made[0]).await.unwrap();
    w.requests.reject(&w.admin, &made[1], "no").await.unwrap();
    w.requests.reject(&w.admin, &made[2], "no").await.unwrap();
    w.requests.withdraw(&alice, &made[3]).await.unwrap();
    let counts = w.requests.counts(&w.admin).await.unwrap();
    let expected = [("approved", 1), ("pending", 2), ("rejected", 2), ("withdrawn", 1)].map(|(s, n)| (s.to_string(), n));
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), expected);
    // Each count is its list's length.
    for (state, n) in expected {
        assert_eq!(w.requests.list(&w.admin, Some(&state)).await.unwrap().len(), n, "{state}");
    }
    w.requests.approve(&w.admin, &made[4]).await.unwrap();
    let counts = w.requests.counts(&w.admin).await.unwrap();
    assert_eq!((counts["pending"], counts["approved"]), (1, 2));
    assert_eq!(code(w.requests.counts(&alice).await), "forbidden");
}

#[tokio::test]
async fn a_request_is_read_by_id_and_another_organisations_is_not_found() {
    let w = world().await;
    let pki = TestPki::new();
    w.upload(&pki.leaf(&LeafSpec::client("acme")), Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, true).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let bob = Actor::Consumer { user: "usr_bob".into(), organisation: w.globex.clone(), role: OrgRole::OrgAdmin };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let request = w.requests.create(&alice, &app.id, NewRequest { product, plan: w.plan.clone(), certificate: None }).await.unwrap();
    assert_eq!(w.requests.get(&w.admin, &request.id).await.unwrap().id, request.id);
    assert_eq!(w.requests.get(&alice, &request.id).await.unwrap().id, request.id);
    assert_eq!(code(w.requests.get(&bob, &request.id).await), "not_found", "exactly like a missing one");
    assert_eq!(code(w.requests.get(&w.admin, "req_missing").await), "not_found");
}
