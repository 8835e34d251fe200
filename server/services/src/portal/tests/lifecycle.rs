//! After the first approval: plan changes and Self-Serve renewals approved like requests,
//! retiring a replaced certificate by hand, and the retire-by scheduler with an injected clock.

use certgate_core::portal::derive::SubscriptionCertificate;
use certgate_core::portal::plan::PlanSpec;
use certgate_core::portal::product::{CertificateMode, ProductSpec};
use certgate_core::UnixSeconds;
use certgate_testpki::Issued;

use super::*;
use crate::plans::Plans;
use crate::portal::requests::AccessRequestRecord;
use crate::portal::retirement::{wait_for, Retirements, RENEWAL_OVERLAP_SECONDS};
use crate::portal::subscriptions::Subscriptions;
use crate::test_world::World;

fn now() -> UnixSeconds {
    crate::clock::now()
}

/// A consumer who manages every app of the organisation (the only constructor here: the
/// actor's shape lives in one place).
fn consumer(user: &str, organisation: &str) -> Actor {
    Actor::Consumer { user: user.into(), organisation: organisation.into(), role: crate::accounts::OrgRole::OrgAdmin }
}

fn id_of(cert: &Issued) -> String {
    certgate_core::pki::parse_der(&cert.der).unwrap().id
}

struct Subscribed {
    subscriptions: Subscriptions,
    alice: Actor,
    bob: Actor,
    app: String,
    subscription: String,
    token: String,
}

/// Alice's app subscribed to a Self-Serve product with binding, with `first`, and its token.
async fn self_serve_subscription(w: &World, first: &Issued) -> Subscribed {
    let product = w.product(CertificateMode::SelfServe, true).await;
    let alice = consumer("usr_alice", &w.acme);
    let bob = consumer("usr_bob", &w.globex);
    let app = w.apps.create(&alice, "Shop").await.unwrap().id;
    let ask = NewRequest { product, plan: w.plan.clone(), certificate: Some(first.cert_pem.as_bytes().to_vec()) };
    let request = w.requests.create(&alice, &app, ask).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let entry = w.credentials.of_app(&alice, &app).await.unwrap().pop().unwrap();
    let token = w.credentials.mint(&alice, &entry.credential.id).await.unwrap();
    Subscribed { subscriptions: Subscriptions::new(w.store.clone()), alice, bob, app, subscription: entry.subscription.id, token }
}

async fn renew(s: &Subscribed, body: &str) -> Result<AccessRequestRecord, ServiceError> {
    s.subscriptions.renew(&s.alice, &s.subscription, body.as_bytes()).await
}

async fn certificates_of(s: &Subscribed) -> Vec<SubscriptionCertificate> {
    s.subscriptions.get(&s.alice, &s.subscription).await.unwrap().certificates
}

async fn used_by_subscription(w: &World, certificate: &str) -> bool {
    w.certificates.get(certificate).await.unwrap().used_by.iter().any(|u| u.kind == "subscription")
}

#[tokio::test]
async fn a_renewal_is_checked_like_a_request_and_a_rejected_one_changes_nothing() {
    let w = world().await;
    let pki = TestPki::new();
    let (old, spare) = (pki.leaf(&LeafSpec::client("old")), pki.leaf(&LeafSpec::client("spare")));
    let s = self_serve_subscription(&w, &old).await;

    // Bad input stores nothing; a private key is refused without being echoed.
    match renew(&s, &spare.key_pem).await {
        Err(ServiceError::Invalid { code: "private_key_not_certificate", message }) => assert!(!message.contains(spare.key_pem.lines().nth(1).unwrap())),
        other => panic!("{other:?}"),
    }
    assert_eq!(code(renew(&s, &pki.leaf(&LeafSpec::client("late").expired()).cert_pem).await), "certificate_not_usable");
    assert_eq!(code(renew(&s, &pki.intermediate.cert_pem).await), "certificate_not_usable");
    assert_eq!(code(renew(&s, &old.cert_pem).await), "certificate_already_in_subscription");
    // Another organisation's consumer: not found, exactly like a missing subscription.
    assert_eq!(code(s.subscriptions.renew(&s.bob, &s.subscription, spare.cert_pem.as_bytes()).await), "not_found");
    assert_eq!(code(s.subscriptions.renew(&s.alice, "sub_missing", spare.cert_pem.as_bytes()).await), "not_found");
    // A certificate another organisation holds: 409 without naming it.
    let globex_cert = pki.leaf(&LeafSpec::client("globex"));
    w.upload(&globex_cert, Some(&w.globex)).await;
    match renew(&s, &globex_cert.cert_pem).await {
        Err(ServiceError::Conflict { code: "certificate_held_elsewhere", message }) => assert!(!message.contains("Globex")),
        other => panic!("{other:?}"),
    }
    let before_pending: Vec<AccessRequestRecord> = w.requests.list(&w.admin, Some("pending")).await.unwrap();
    assert!(before_pending.is_empty(), "refusals store nothing");

    // One pending renewal at a time; the consumer sees it with the subscription.
    let request = renew(&s, &spare.cert_pem).await.unwrap();
    assert!(request.state.is_pending());
    assert_eq!(code(renew(&s, &pki.leaf(&LeafSpec::client("third")).cert_pem).await), "renewal_pending");
    let listed = s.subscriptions.of_app(&s.alice, &s.app).await.unwrap();
    assert_eq!((listed.len(), listed[0].pending.len()), (1, 1));
    assert_eq!(listed[0].pending[0].id, request.id);
    assert_eq!(code(s.subscriptions.of_app(&s.bob, &s.app).await), "not_found");
    assert_eq!(w.decide(&spare, &s.token), Err(DenialKind::ClientCertificateNotAllowed), "not before approval");

    // Rejected: the old certificate stays as it was, the new one never joins.
    w.requests.reject(&w.admin, &request.id, "use your production certificate").await.unwrap();
    assert_eq!(certificates_of(&s).await, vec![SubscriptionCertificate { id: id_of(&old), retire_by: None }]);
    assert!(w.decide(&old, &s.token).is_ok());
    assert_eq!(w.decide(&spare, &s.token), Err(DenialKind::ClientCertificateNotAllowed));
    assert!(s.subscriptions.of_app(&s.alice, &s.app).await.unwrap()[0].pending.is_empty());
    // The claim is released: a new renewal may be filed (and withdrawn).
    let again = renew(&s, &spare.cert_pem).await.unwrap();
    w.requests.withdraw(&s.alice, &again.id).await.unwrap();
    assert_eq!(w.decide(&spare, &s.token), Err(DenialKind::ClientCertificateNotAllowed));
}

#[tokio::test]
async fn after_an_approved_renewal_both_work_until_the_old_one_is_retired_by_hand() {
    let w = world().await;
    let pki = TestPki::new();
    let (old, new) = (pki.leaf(&LeafSpec::client("old")), pki.leaf(&LeafSpec::client("new")));
    let s = self_serve_subscription(&w, &old).await;
    let request = s.subscriptions.renew(&s.alice, &s.subscription, new.cert_pem.as_bytes()).await.unwrap();
    let before = now();
    w.requests.approve(&w.admin, &request.id).await.unwrap();

    // Both work, both bound: the same token with either certificate.
    assert!(w.decide(&old, &s.token).is_ok() && w.decide(&new, &s.token).is_ok());
    let certificates = certificates_of(&s).await;
    assert_eq!(certificates.len(), 2);
    let retire_by = certificates[0].retire_by.unwrap();
    assert_eq!(certificates[0].id, id_of(&old));
    assert!((before + RENEWAL_OVERLAP_SECONDS..=now() + RENEWAL_OVERLAP_SECONDS).contains(&retire_by), "at most 30 days");
    assert_eq!(certificates[1], SubscriptionCertificate { id: id_of(&new), retire_by: None });
    assert!(used_by_subscription(&w, &id_of(&new)).await, "used by the subscription from approval");

    // The current certificate cannot be retired; another organisation cannot retire anything.
    assert_eq!(code(s.subscriptions.retire_certificate(&s.alice, &s.subscription, &id_of(&new)).await), "last_certificate");
    assert_eq!(code(s.subscriptions.retire_certificate(&s.bob, &s.subscription, &id_of(&old)).await), "not_found");
    assert_eq!(code(s.subscriptions.retire_certificate(&s.alice, &s.subscription, "c0ffee").await), "not_found");
    assert!(w.decide(&old, &s.token).is_ok());

    // Retired by hand: refused from the next decision, gone from "used by" and the schedule.
    s.subscriptions.retire_certificate(&s.alice, &s.subscription, &id_of(&old)).await.unwrap();
    assert_eq!(w.decide(&old, &s.token), Err(DenialKind::ClientCertificateNotAllowed));
    assert!(w.decide(&new, &s.token).is_ok());
    assert!(!used_by_subscription(&w, &id_of(&old)).await);
    assert_eq!(Retirements::new(w.store.clone()).next().await.unwrap(), None);
    assert_eq!(code(s.subscriptions.retire_certificate(&s.alice, &s.subscription, &id_of(&new)).await), "last_certificate");
}

#[tokio::test]
async fn the_scheduler_retires_a_replaced_certificate_at_its_retire_by_time() {
    let w = world().await;
    let pki = TestPki::new();
    let (old, new) = (pki.leaf(&LeafSpec::client("old")), pki.leaf(&LeafSpec::client("new")));
    let s = self_serve_subscription(&w, &old).await;
    let retirements = Retirements::new(w.store.clone());
    assert_eq!(retirements.next().await.unwrap(), None, "nothing scheduled before a renewal");
    let request = s.subscriptions.renew(&s.alice, &s.subscription, new.cert_pem.as_bytes()).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();

    // The scheduler's clock is injected: the retire-by time is 30 days ahead of the real one.
    let at = retirements.next().await.unwrap().expect("the old certificate's retire-by time is scheduled");
    assert_eq!(Some(at), certificates_of(&s).await[0].retire_by);
    assert_eq!(wait_for(at - 5, Some(at)), std::time::Duration::from_secs(5), "it sleeps until then");
    assert_eq!(retirements.tick(at - 1).await.unwrap(), std::time::Duration::from_secs(1));
    assert!(w.decide(&old, &s.token).is_ok(), "one second early: still working");
    assert_eq!(certificates_of(&s).await.len(), 2);

    assert_eq!(retirements.retire_due(at).await.unwrap(), 1);
    assert_eq!(w.decide(&old, &s.token), Err(DenialKind::ClientCertificateNotAllowed), "gone from the view at retire-by");
    assert!(w.decide(&new, &s.token).is_ok());
    assert_eq!(certificates_of(&s).await, vec![SubscriptionCertificate { id: id_of(&new), retire_by: None }]);
    assert!(!used_by_subscription(&w, &id_of(&old)).await);
    assert_eq!(retirements.next().await.unwrap(), None);
    assert_eq!(retirements.retire_due(at + 10).await.unwrap(), 0, "retired once");

    // A subscription that ended before its retire-by time leaves nothing behind.
    let third = pki.leaf(&LeafSpec::client("third"));
    let request = s.subscriptions.renew(&s.alice, &s.subscription, third.cert_pem.as_bytes()).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let at = retirements.next().await.unwrap().unwrap();
    w.apps.delete(&s.alice, &s.app).await.unwrap();
    assert_eq!(retirements.retire_due(at).await.unwrap(), 0);
    assert_eq!(retirements.next().await.unwrap(), None);
}

#[tokio::test]
async fn a_plan_change_is_approved_like_a_request_and_keeps_the_subscription() {
    let w = world().await;
    let plans = Plans::new(w.store.clone());
    let plan = |name: &str, auto_approve: bool| PlanSpec { name: name.into(), rate: None, quota: None, auto_approve, token_lifetime_seconds: None };
    let silver = plans.create(plan("Silver", false), "admin").await.unwrap().id;
    let bronze = plans.create(plan("Bronze", true), "admin").await.unwrap().id;
    let elsewhere = plans.create(plan("Other", false), "admin").await.unwrap().id;
    let spec = ProductSpec {
        name: "Plans".into(),
        description: String::new(),
        apis: vec![w.api.clone()],
        plans: vec![w.plan.clone(), silver.clone(), bronze.clone()],
        published: true,
        visible_to: None,
        certificate_mode: Some(CertificateMode::SelfServe),
        certificate_binding: false,
    };
    let product = w.products.create(spec, "admin").await.unwrap().id;
    let pki = TestPki::new();
    let cert = pki.leaf(&LeafSpec::client("mine"));
    let alice = consumer("usr_alice", &w.acme);
    let bob = consumer("usr_bob", &w.globex);
    let app = w.apps.create(&alice, "Shop").await.unwrap().id;
    let request = w.requests.create(&alice, &app, NewRequest { product, plan: w.plan.clone(), certificate: Some(cert.cert_pem.as_bytes().to_vec()) }).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let subscriptions = Subscriptions::new(w.store.clone());
    let subscription = subscriptions.of_app(&alice, &app).await.unwrap()[0].subscription.id.clone();
    let entry = w.credentials.of_app(&alice, &app).await.unwrap().pop().unwrap();
    let token = w.credentials.mint(&alice, &entry.credential.id).await.unwrap();

    assert_eq!(code(subscriptions.change_plan(&alice, &subscription, &elsewhere).await), "unknown_plan");
    assert_eq!(code(subscriptions.change_plan(&alice, &subscription, &w.plan).await), "same_plan");
    assert_eq!(code(subscriptions.change_plan(&bob, &subscription, &silver).await), "not_found");
    let change = subscriptions.change_plan(&alice, &subscription, &silver).await.unwrap();
    assert!(change.state.is_pending());
    assert_eq!(code(subscriptions.change_plan(&alice, &subscription, &bronze).await), "change_pending");
    assert_eq!(subscriptions.get(&alice, &subscription).await.unwrap().plan, w.plan, "nothing changes before approval");
    assert_eq!(code(w.requests.approve(&alice, &change.id).await), "forbidden");
    w.requests.approve(&w.admin, &change.id).await.unwrap();
    assert_eq!(subscriptions.get(&alice, &subscription).await.unwrap().plan, silver);
    // The credential and its limits key are the subscription's, before and after.
    assert_eq!(w.decide(&cert, &token), Ok(Some(subscription.clone())));

    // A target plan with auto-approve is approved at once.
    let change = subscriptions.change_plan(&alice, &subscription, &bronze).await.unwrap();
    assert_eq!(change.state.name(), "approved");
    assert_eq!(subscriptions.get(&alice, &subscription).await.unwrap().plan, bronze);
    assert_eq!(w.decide(&cert, &token), Ok(Some(subscription.clone())));

    // The subscription's plan auto-approves: so is a renewal, and both certificates work at once.
    let replacement = pki.leaf(&LeafSpec::client("next"));
    let renewal = subscriptions.renew(&alice, &subscription, replacement.cert_pem.as_bytes()).await.unwrap();
    assert_eq!(renewal.state.name(), "approved");
    assert!(w.decide(&cert, &token).is_ok() && w.decide(&replacement, &token).is_ok());
}

#[tokio::test]
async fn a_managed_subscription_has_nothing_to_renew() {
    let w = world().await;
    let pki = TestPki::new();
    let org_cert = pki.leaf(&LeafSpec::client("acme"));
    w.upload(&org_cert, Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, true).await;
    let alice = consumer("usr_alice", &w.acme);
    let app = w.apps.create(&alice, "Shop").await.unwrap().id;
    let request = w.requests.create(&alice, &app, NewRequest { product, plan: w.plan.clone(), certificate: None }).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let subscriptions = Subscriptions::new(w.store.clone());
    let subscription = subscriptions.of_app(&alice, &app).await.unwrap()[0].subscription.id.clone();
    let replacement = pki.leaf(&LeafSpec::client("mine"));
    assert_eq!(code(subscriptions.renew(&alice, &subscription, replacement.cert_pem.as_bytes()).await), "not_self_serve");
    assert_eq!(code(subscriptions.retire_certificate(&alice, &subscription, &id_of(&org_cert)).await), "not_found", "not the subscription's own");
    assert!(w.requests.list(&w.admin, Some("pending")).await.unwrap().is_empty());
}

/// The view was derived while the replaced certificate still counted; its retire-by time has
/// passed since (30 days, here set back by a write that publishes nothing, as time passing
/// does): the scheduler's write must take it off the allow lists. Binding off, so only the
/// allow list stands between the retired certificate and the API.
#[tokio::test]
async fn a_certificate_past_its_retire_by_time_leaves_the_allow_list_when_the_scheduler_runs() {
    use crate::store::{codec, tables, StoreError};
    let w = world().await;
    let pki = TestPki::new();
    let (old, new) = (pki.leaf(&LeafSpec::client("old")), pki.leaf(&LeafSpec::client("new")));
    let spec = ProductSpec {
        name: "Unbound".into(),
        description: String::new(),
        apis: vec![w.api.clone()],
        plans: vec![w.plan.clone()],
        published: true,
        visible_to: None,
        certificate_mode: Some(CertificateMode::SelfServe),
        certificate_binding: false,
    };
    let product = w.products.create(spec, "admin").await.unwrap().id;
    let alice = consumer("usr_alice", &w.acme);
    let app = w.apps.create(&alice, "Shop").await.unwrap().id;
    let ask = NewRequest { product, plan: w.plan.clone(), certificate: Some(old.cert_pem.as_bytes().to_vec()) };
    let request = w.requests.create(&alice, &app, ask).await.unwrap();
    w.requests.approve(&w.admin, &request.id).await.unwrap();
    let entry = w.credentials.of_app(&alice, &app).await.unwrap().pop().unwrap();
    let token = w.credentials.mint(&alice, &entry.credential.id).await.unwrap();
    let subscriptions = Subscriptions::new(w.store.clone());
    let renewal = subscriptions.renew(&alice, &entry.subscription.id, new.cert_pem.as_bytes()).await.unwrap();
    w.requests.approve(&w.admin, &renewal.id).await.unwrap();
    assert!(w.decide(&old, &token).is_ok() && w.decide(&new, &token).is_ok());

    // Thirty days later: the old certificate's retire-by time is in the past.
    let due = now() - 1;
    let id = entry.subscription.id.clone();
    w.store
        .write(move |txn| {
            let mut record = super::super::lifecycle::load_subscription(&txn.open_table(tables::SUBSCRIPTIONS)?, &id)?;
            for c in record.certificates.iter_mut().filter(|c| c.retire_by.is_some()) {
                crate::portal::retirement::unschedule(txn, c.retire_by.unwrap(), &id, &c.id)?;
                c.retire_by = Some(due);
                crate::portal::retirement::schedule(txn, due, &id, &c.id)?;
            }
            txn.open_table(tables::SUBSCRIPTIONS)?.insert(id.as_str(), codec::encode(&record)?.as_slice()).map_err(StoreError::from)?;
            Ok(())
        })
        .await
        .unwrap();
    assert!(w.decide(&old, &token).is_ok(), "the view has not changed yet");

    assert_eq!(Retirements::new(w.store.clone()).retire_due(now()).await.unwrap(), 1);
    assert_eq!(w.decide(&old, &token), Err(DenialKind::ClientCertificateNotAllowed), "retired: off the allow list");
    assert!(w.decide(&new, &token).is_ok());
    // And it stays off after later writes that reach the subscription.
    w.credentials.rotate(&alice, &entry.credential.id, 60).await.unwrap();
    assert_eq!(w.decide(&old, &token), Err(DenialKind::ClientCertificateNotAllowed));
}
