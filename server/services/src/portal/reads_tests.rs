//! Roles (a member manages the apps they created, an org admin every app of the organisation),
//! the admin's overview of subscriptions and credentials, the consumers' catalogue and the
//! audit log's organisation, on the real store.

use certgate_core::gateway::spec::{ApiSpec, KeySpec};
use certgate_core::portal::credential::CredentialStatus;
use certgate_core::portal::plan::PlanSpec;
use certgate_core::portal::product::ProductSpec;

use super::apps::Apps;
use super::catalogue::Catalogue;
use super::credentials::Credentials;
use super::overview::{CredentialFilter, CredentialOrigin, Overview, SubscriptionFilter};
use super::requests::{AccessRequests, NewRequest};
use super::Actor;
use crate::accounts::OrgRole;
use crate::apis::Apis;
use crate::audit::{AuditFilter, AuditLog};
use crate::gateway_view::{attach, SharedState};
use crate::keys::Keys;
use crate::organisations::Organisations;
use crate::plans::Plans;
use crate::products::Products;
use crate::store::Store;
use crate::ServiceError;

struct World {
    _dir: tempfile::TempDir,
    _state: SharedState,
    store: Store,
    apps: Apps,
    requests: AccessRequests,
    credentials: Credentials,
    products: Products,
    api: String,
    /// Approved at once / approved by the admin.
    auto_plan: String,
    manual_plan: String,
    acme: String,
    globex: String,
    admin: Actor,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let state = attach(&store).unwrap();
    // An Auth Token API without mTLS: products of it need no certificates.
    let spec: ApiSpec = serde_json::from_value(serde_json::json!({
        "name": "orders", "listen_path": "/orders", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token"
    }))
    .unwrap();
    let api = Apis::new(store.clone()).create(spec, "admin").await.unwrap().id;
    let plans = Plans::new(store.clone());
    let plan = |name: &str, auto_approve| PlanSpec { name: name.into(), rate: None, quota: None, auto_approve, token_lifetime_seconds: Some(3600) };
    let auto_plan = plans.create(plan("Free", true), "admin").await.unwrap().id;
    let manual_plan = plans.create(plan("Gold", false), "admin").await.unwrap().id;
    let organisations = Organisations::new(store.clone());
    let acme = organisations.create("Acme").await.unwrap().id;
    let globex = organisations.create("Globex").await.unwrap().id;
    World {
        _dir: dir,
        _state: state,
        apps: Apps::new(store.clone()),
        requests: AccessRequests::new(store.clone()),
        credentials: Credentials::new(store.clone()),
        products: Products::new(store.clone()),
        store,
        api,
        auto_plan,
        manual_plan,
        acme,
        globex,
        admin: Actor::Admin { name: "admin-token".into() },
    }
}

impl World {
    async fn product(&self, name: &str, published: bool, visible_to: Option<Vec<String>>) -> String {
        let spec = ProductSpec {
            name: name.into(),
            description: format!("{name} for you"),
            apis: vec![self.api.clone()],
            plans: vec![self.auto_plan.clone(), self.manual_plan.clone()],
            published,
            visible_to,
            certificate_mode: None,
            certificate_binding: false,
        };
        self.products.create(spec, "admin").await.unwrap().id
    }

    fn ask(&self, product: &str, plan: &str) -> NewRequest {
        NewRequest { product: product.into(), plan: plan.into(), certificate: None }
    }
}

fn consumer(user: &str, organisation: &str, role: OrgRole) -> Actor {
    Actor::Consumer { user: user.into(), organisation: organisation.into(), role }
}

fn is_not_found<T: std::fmt::Debug>(result: Result<T, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::NotFound { .. }))
}

#[tokio::test]
async fn a_member_manages_only_their_apps_and_an_org_admin_every_app_of_the_organisation() {
    let w = world().await;
    let alice = consumer("usr_alice", &w.acme, OrgRole::Member);
    let carol = consumer("usr_carol", &w.acme, OrgRole::Member);
    let olga = consumer("usr_olga", &w.acme, OrgRole::OrgAdmin);
    let bob = consumer("usr_bob", &w.globex, OrgRole::OrgAdmin);
    let product = w.product("Orders", true, None).await;
    let mine = w.apps.create(&alice, "Alice's app").await.unwrap();
    let theirs = w.apps.create(&carol, "Carol's app").await.unwrap();

    let names = |apps: Vec<super::apps::AppRecord>| apps.into_iter().map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(names(w.apps.list(&alice).await.unwrap()), ["Alice's app"]);
    assert_eq!(names(w.apps.list(&carol).await.unwrap()), ["Carol's app"]);
    assert_eq!(names(w.apps.list(&olga).await.unwrap()), ["Alice's app", "Carol's app"]);
    assert!(w.apps.list(&bob).await.unwrap().is_empty());
    assert_eq!(w.apps.list_of(&w.admin, None).await.unwrap().len(), 2);
    assert!(w.apps.list_of(&w.admin, Some(&w.globex)).await.unwrap().is_empty());
    assert!(w.apps.list_of(&alice, Some(&w.globex)).await.unwrap().is_empty(), "another organisation's filter shows nothing");

    // A colleague's app is not found for a member, exactly like a missing one; the org admin has it.
    assert!(is_not_found(w.apps.get(&alice, &theirs.id).await));
    assert!(is_not_found(w.apps.get(&alice, "app_missing").await));
    assert!(is_not_found(w.apps.rename(&alice, &theirs.id, "Mine now").await));
    assert!(is_not_found(w.apps.rename(&bob, &theirs.id, "Mine now").await));
    assert_eq!(w.apps.get(&olga, &theirs.id).await.unwrap().owner, "usr_carol");
    assert_eq!(w.apps.rename(&olga, &theirs.id, "  Team app ").await.unwrap().name, "Team app");
    assert!(matches!(w.apps.rename(&carol, &theirs.id, "").await, Err(ServiceError::Invalid { code: "invalid_name", .. })));
    assert!(matches!(w.apps.rename(&carol, &theirs.id, "a\u{7}b").await, Err(ServiceError::Invalid { code: "invalid_name", .. })));
    assert_eq!(w.apps.get(&carol, &theirs.id).await.unwrap().name, "Team app", "a refused rename changes nothing");

    // Requests and credentials follow their app.
    assert!(is_not_found(w.requests.create(&alice, &theirs.id, w.ask(&product, &w.auto_plan)).await));
    w.requests.create(&carol, &theirs.id, w.ask(&product, &w.auto_plan)).await.unwrap();
    assert!(is_not_found(w.credentials.of_app(&alice, &theirs.id).await));
    let credential = w.credentials.of_app(&olga, &theirs.id).await.unwrap().pop().unwrap().credential.id;
    assert!(is_not_found(w.credentials.mint(&alice, &credential).await));
    assert!(is_not_found(w.credentials.revoke(&alice, &credential).await));
    assert!(is_not_found(w.credentials.revoke(&bob, &credential).await));
    w.credentials.mint(&olga, &credential).await.unwrap();
    w.credentials.rotate(&carol, &credential, 60).await.unwrap();

    let other = w.product("Orders, gold", true, None).await;
    let pending = w.requests.create(&carol, &theirs.id, w.ask(&other, &w.manual_plan)).await.unwrap();
    assert!(is_not_found(w.requests.withdraw(&alice, &pending.id).await));
    assert!(w.requests.list(&alice, None).await.unwrap().is_empty(), "a member lists their own apps' requests only");
    assert_eq!(w.requests.list(&olga, None).await.unwrap().len(), 2);
    w.requests.withdraw(&olga, &pending.id).await.unwrap();

    // A member deletes neither a colleague's app; the owner can.
    assert!(is_not_found(w.apps.delete(&alice, &theirs.id).await));
    w.apps.delete(&alice, &mine.id).await.unwrap();
    assert!(is_not_found(w.apps.get(&olga, &mine.id).await));
}

#[tokio::test]
async fn the_admin_overview_lists_subscriptions_and_credentials_of_both_origins() {
    let w = world().await;
    let alice = consumer("usr_alice", &w.acme, OrgRole::Member);
    let bob = consumer("usr_bob", &w.globex, OrgRole::Member);
    let orders = w.product("Orders", true, None).await;
    let more = w.product("More orders", true, None).await;
    let a = w.apps.create(&alice, "A").await.unwrap();
    let b = w.apps.create(&bob, "B").await.unwrap();
    w.requests.create(&alice, &a.id, w.ask(&orders, &w.auto_plan)).await.unwrap();
    w.requests.create(&alice, &a.id, w.ask(&more, &w.auto_plan)).await.unwrap();
    w.requests.create(&bob, &b.id, w.ask(&orders, &w.auto_plan)).await.unwrap();
    let spec = KeySpec { apis: vec![w.api.clone()], bound_certificates: None, rate: None, quota: None, expires_at: None };
    let key = Keys::new(w.store.clone()).create(spec, "admin-token").await.unwrap();

    let overview = Overview::new(w.store.clone());
    let all = overview.subscriptions(&w.admin, SubscriptionFilter::default(), None, 200).await.unwrap();
    assert_eq!((all.items.len(), all.more), (3, false));
    let only = |f: SubscriptionFilter| {
        let overview = overview.clone();
        let admin = w.admin.clone();
        async move { overview.subscriptions(&admin, f, None, 200).await.unwrap().items }
    };
    let acme = only(SubscriptionFilter { organisation: Some(w.acme.clone()), ..Default::default() }).await;
    assert!(acme.len() == 2 && acme.iter().all(|s| s.organisation == w.acme && s.app == a.id));
    let by_product = only(SubscriptionFilter { product: Some(orders.clone()), ..Default::default() }).await;
    assert_eq!(by_product.len(), 2);
    let both = only(SubscriptionFilter { product: Some(orders.clone()), app: Some(b.id.clone()), ..Default::default() }).await;
    assert_eq!((both.len(), both[0].organisation.as_str()), (1, w.globex.as_str()));
    assert!(only(SubscriptionFilter { organisation: Some("org_none".into()), ..Default::default() }).await.is_empty());

    // Statuses follow each credential's tokens.
    let a_credentials = w.credentials.of_app(&alice, &a.id).await.unwrap();
    w.credentials.mint(&alice, &a_credentials[0].credential.id).await.unwrap();
    w.credentials.revoke(&alice, &a_credentials[1].credential.id).await.unwrap();
    let credentials = overview.credentials(&w.admin, CredentialFilter::default(), None, 200).await.unwrap().items;
    assert_eq!(credentials.len(), 4);
    let admin_key = credentials.iter().find(|c| c.origin == CredentialOrigin::Admin).unwrap();
    assert_eq!((admin_key.id.as_str(), admin_key.status, admin_key.portal.is_none()), (key.record.id.as_str(), CredentialStatus::Active, true));
    let status_of = |id: &str| credentials.iter().find(|c| c.id == id).unwrap().status;
    assert_eq!(status_of(&a_credentials[0].credential.id), CredentialStatus::Active);
    assert_eq!(status_of(&a_credentials[1].credential.id), CredentialStatus::Revoked);
    let b_credential = credentials.iter().find(|c| c.portal.as_ref().is_some_and(|p| p.app == b.id)).unwrap();
    assert_eq!(b_credential.status, CredentialStatus::NoToken);
    assert_eq!(b_credential.label.as_deref(), Some("B / Orders"));
    assert_eq!(b_credential.portal.as_ref().unwrap().organisation, w.globex);
    // A debug print of every summary holds no digest: there is no field for one.
    let printed = format!("{credentials:?}");
    assert!(!printed.contains(&key.record.token_sha256) && !printed.contains(&key.token));

    let admin_only = CredentialFilter { origin: Some(CredentialOrigin::Admin), ..Default::default() };
    assert_eq!(overview.credentials(&w.admin, admin_only, None, 200).await.unwrap().items.len(), 1);
    let globex_only = CredentialFilter { organisation: Some(w.globex.clone()), ..Default::default() };
    let globex = overview.credentials(&w.admin, globex_only, None, 200).await.unwrap().items;
    assert_eq!(globex.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [b_credential.id.as_str()], "admin keys belong to no organisation");
    assert!(matches!(overview.credentials(&alice, CredentialFilter::default(), None, 1).await, Err(ServiceError::Forbidden { .. })));
    assert!(matches!(overview.subscriptions(&alice, SubscriptionFilter::default(), None, 1).await, Err(ServiceError::Forbidden { .. })));

    // Pages of one walk every credential once, across the admin keys into the portal's.
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = overview.credentials(&w.admin, CredentialFilter::default(), after.clone(), 1).await.unwrap();
        assert!(page.items.len() <= 1);
        walked.extend(page.items.iter().map(|c| (c.origin, c.id.clone())));
        match (page.more, page.items.last()) {
            (true, Some(last)) => after = Some((last.origin, last.id.clone())),
            _ => break,
        }
        assert!(walked.len() < 10, "the pages do not end");
    }
    let mut expected: Vec<(CredentialOrigin, String)> = credentials.iter().map(|c| (c.origin, c.id.clone())).collect();
    expected.sort();
    assert_eq!(walked, expected, "the admin's key first, then the portal's by id, each once");
    // A portal cursor never goes back to the admin's keys; a filter holds on every page.
    let portal_after = Some(expected[1].clone());
    let rest = overview.credentials(&w.admin, CredentialFilter::default(), portal_after, 10).await.unwrap();
    assert_eq!((rest.items.len(), rest.more), (2, false));
    let acme_only = CredentialFilter { organisation: Some(w.acme.clone()), ..Default::default() };
    let first = overview.credentials(&w.admin, acme_only.clone(), None, 1).await.unwrap();
    assert!(first.more && first.items[0].portal.as_ref().unwrap().organisation == w.acme);
    let after = first.items.last().map(|c| (c.origin, c.id.clone()));
    let second = overview.credentials(&w.admin, acme_only, after, 1).await.unwrap();
    assert_eq!((second.items.len(), second.more), (1, false), "the last acme credential ends the list, whatever follows");
    assert_eq!(second.items[0].portal.as_ref().unwrap().organisation, w.acme);
}

#[tokio::test]
async fn the_catalogue_shows_published_products_visible_to_the_organisation_only() {
    let w = world().await;
    let alice = consumer("usr_alice", &w.acme, OrgRole::Member);
    let bob = consumer("usr_bob", &w.globex, OrgRole::Member);
    let everyone = w.product("For everyone", true, None).await;
    let globex_only = w.product("Globex only", true, Some(vec![w.globex.clone()])).await;
    let draft = w.product("Draft", false, None).await;
    let catalogue = Catalogue::new(w.store.clone());

    let acme_sees = catalogue.list(&alice).await.unwrap();
    assert_eq!(acme_sees.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [everyone.as_str()]);
    let shown = &acme_sees[0];
    assert_eq!((shown.apis.len(), shown.apis[0].listen_path.as_str()), (1, "/orders"));
    assert_eq!(shown.plans.iter().map(|p| p.spec.name.as_str()).collect::<Vec<_>>(), ["Free", "Gold"], "in the product's order");
    assert_eq!(shown.plans[0].spec.token_lifetime_seconds, Some(3600));
    let globex_sees = catalogue.list(&bob).await.unwrap();
    assert_eq!(globex_sees.len(), 2);

    assert!(is_not_found(catalogue.get(&alice, &globex_only).await), "invisible: like a missing id");
    assert!(is_not_found(catalogue.get(&alice, &draft).await), "unpublished");
    assert!(is_not_found(catalogue.get(&bob, &draft).await));
    assert!(is_not_found(catalogue.get(&alice, "prd_missing").await));
    assert_eq!(catalogue.get(&bob, &globex_only).await.unwrap().name, "Globex only");
    // The admin previews what is published, not drafts.
    assert!(is_not_found(catalogue.get(&w.admin, &draft).await));
    assert_eq!(catalogue.list(&w.admin).await.unwrap().len(), 2);
}

#[tokio::test]
async fn portal_audit_entries_carry_their_organisation() {
    let w = world().await;
    let alice = consumer("usr_alice", &w.acme, OrgRole::Member);
    let product = w.product("Orders", true, None).await;
    let app = w.apps.create(&alice, "A").await.unwrap();
    w.apps.rename(&alice, &app.id, "B").await.unwrap();
    w.requests.create(&alice, &app.id, w.ask(&product, &w.auto_plan)).await.unwrap();
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap().credential.id;
    w.credentials.mint(&alice, &credential).await.unwrap();
    w.credentials.revoke(&w.admin, &credential).await.unwrap();

    let log = AuditLog::new(w.store.clone());
    let page = |filter: AuditFilter| {
        let (log, admin) = (log.clone(), w.admin.clone());
        async move { log.page(&admin, filter, None, 200).await.unwrap().entries.into_iter().map(|(_, e)| e).collect::<Vec<_>>() }
    };
    let acme = page(AuditFilter { organisation: Some(w.acme.clone()), ..Default::default() }).await;
    let actions: Vec<&str> = acme.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["credential.revoked", "credential.token_created", "access_request.approved", "access_request.created", "app.renamed", "app.created"],
        "newest first"
    );
    assert!(page(AuditFilter { organisation: Some(w.globex.clone()), ..Default::default() }).await.is_empty());
    let by_admin = page(AuditFilter { organisation: Some(w.acme.clone()), actor: Some("admin-token".into()), ..Default::default() }).await;
    assert_eq!(by_admin.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["credential.revoked"]);
    let apps = page(AuditFilter { kind: Some("app".into()), ..Default::default() }).await;
    assert_eq!(apps.len(), 2);
}
