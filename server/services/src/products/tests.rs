use super::*;
use crate::apis::Apis;
use crate::organisations::Organisations;
use crate::plans::Plans;
use certgate_core::gateway::spec::ApiSpec;
use certgate_core::portal::plan::PlanSpec;
use certgate_core::portal::product::CertificateMode;

struct World {
    _dir: tempfile::TempDir,
    apis: Apis,
    plans: Plans,
    products: Products,
    organisations: Organisations,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    World {
        apis: Apis::new(store.clone()),
        plans: Plans::new(store.clone()),
        products: Products::new(store.clone()),
        organisations: Organisations::new(store),
        _dir: dir,
    }
}

async fn api(world: &World, path: &str, auth: &str, mtls: bool) -> String {
    let spec: ApiSpec = serde_json::from_value(serde_json::json!({
        "name": path, "listen_path": path, "upstream_url": "http://127.0.0.1:9/", "auth": auth, "mtls": {"required": mtls}
    }))
    .unwrap();
    world.apis.create(spec, "admin").await.unwrap().id
}

fn product(apis: &[&String], plans: &[&String]) -> ProductSpec {
    ProductSpec {
        name: "Payments".into(),
        description: "Pay and refund".into(),
        apis: apis.iter().map(|s| s.to_string()).collect(),
        plans: plans.iter().map(|s| s.to_string()).collect(),
        published: true,
        visible_to: None,
        certificate_mode: None,
        certificate_binding: true,
    }
}

fn code(e: ServiceError) -> &'static str {
    match e {
        ServiceError::Invalid { code, .. } | ServiceError::Conflict { code, .. } => code,
        ServiceError::NotFound { .. } => "not_found",
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn products_are_checked_against_the_stored_apis_plans_and_organisations() {
    let w = world();
    let pay = api(&w, "/pay", "auth_token", true).await;
    let gold = w.plans.create(PlanSpec { name: "Gold".into(), rate: None, quota: None, auto_approve: false, token_lifetime_seconds: None }, "admin").await.unwrap().id;
    let created = w.products.create(product(&[&pay], &[&gold]), "admin").await.unwrap();
    assert_eq!(created.spec.certificate_mode, Some(CertificateMode::Managed), "Auth Token + mTLS defaults to Managed");
    assert_eq!(w.products.get(&created.id).await.unwrap(), created);

    let missing_plan = "pln_missing".to_string();
    assert_eq!(code(w.products.create(product(&[&pay], &[&missing_plan]), "admin").await.unwrap_err()), "unknown_plan");
    let missing_api = "api_missing".to_string();
    assert_eq!(code(w.products.create(product(&[&missing_api], &[&gold]), "admin").await.unwrap_err()), "unknown_api");
    let hidden = ProductSpec { visible_to: Some(vec!["org_missing".into()]), ..product(&[&pay], &[&gold]) };
    assert_eq!(code(w.products.create(hidden, "admin").await.unwrap_err()), "unknown_organisation");
    let acme = w.organisations.create("Acme").await.unwrap();
    let for_acme = ProductSpec { visible_to: Some(vec![acme.id.clone()]), ..product(&[&pay], &[&gold]) };
    assert!(w.products.create(for_acme, "admin").await.unwrap().spec.visible_to_organisation(&acme.id));
    assert_eq!(w.products.list().await.unwrap().len(), 2, "refused products stored nothing");
}

#[tokio::test]
async fn apis_and_plans_in_use_are_protected() {
    let w = world();
    let pay = api(&w, "/pay", "auth_token", true).await;
    let free = w.plans.create(PlanSpec { name: "Free".into(), rate: None, quota: None, auto_approve: true, token_lifetime_seconds: None }, "admin").await.unwrap().id;
    let created = w.products.create(product(&[&pay], &[&free]), "admin").await.unwrap();

    assert_eq!(code(w.plans.delete(&free, "admin").await.unwrap_err()), "plan_in_use");
    assert_eq!(code(w.apis.delete(&pay, "admin").await.unwrap_err()), "api_in_product");
    // An API taking no credential has nothing to grant in a product: the change is refused.
    let to_none = w.apis.modify(&pay, "admin", "api.updated", |spec| {
        spec.auth = AuthKind::None;
        Ok(())
    });
    assert_eq!(code(to_none.await.unwrap_err()), "api_in_product");

    // Once the product lets go, both can be deleted.
    w.products.update(&created.id, ProductSpec { plans: vec![], published: false, ..created.spec.clone() }, "admin").await.unwrap();
    w.plans.delete(&free, "admin").await.unwrap();
    w.products.delete(&created.id, "admin").await.unwrap();
    w.apis.delete(&pay, "admin").await.unwrap();
    assert_eq!(code(w.products.get(&created.id).await.unwrap_err()), "not_found");
}
