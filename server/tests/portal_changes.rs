//! `?dry_run=true` and the change a write answers with, through the real listener on the
//! `--demo` data (Acme's Managed credential, bound, on Acme's one linked certificate): a dry
//! run says what would change and changes nothing (the gateway still admits, on the same
//! keep-alive connection); unlinking the organisation's last certificate warns how many
//! credentials stop working, in the preview and in the answer, and the gateway then refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use reqwest::Method;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use support::gateway::{connect_with, Admin, Conn};
use support::Server;

struct Demo {
    server: Server,
    _dir: tempfile::TempDir,
    admin: Admin,
    acme_token: String,
    acme_cert_id: String,
    acme_org: String,
}

async fn demo() -> Demo {
    support::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = Server::start_in(&data_dir, &["--demo"]);
    let admin = Admin::new(&server);
    let demo_dir = data_dir.join("demo");
    // The demo writes its token files before the listeners report ready.
    let acme_token = std::fs::read_to_string(demo_dir.join("acme-managed.token")).unwrap().lines().next().unwrap().to_string();
    let der = CertificateDer::from_pem_file(demo_dir.join("client.crt")).unwrap();
    let acme_cert_id = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(der.as_ref()));
    let (status, org) = admin.call(Method::GET, &format!("/certificates/{acme_cert_id}"), None).await;
    assert_eq!(status, 200, "{org}");
    let acme_org = org["organisations"][0]["id"].as_str().or_else(|| org["organisations"][0].as_str()).unwrap().to_string();
    Demo { server, _dir: dir, admin, acme_token, acme_cert_id, acme_org }
}

impl Demo {
    async fn acme_connection(&self) -> Conn {
        let demo_dir = self.server.data_dir.join("demo");
        let der = CertificateDer::from_pem_file(demo_dir.join("client.crt")).unwrap().to_vec();
        let key = std::fs::read_to_string(demo_dir.join("client.key")).unwrap();
        connect_with(&self.server, &[der], Some(&key), "localhost").await
    }

    async fn call_managed(&self, conn: &mut Conn) -> (u16, String) {
        let bearer = format!("Bearer {}", self.acme_token);
        let answer = conn.get("/demo-managed/hello", &[("authorization", &bearer)]).await;
        (answer.status, answer.code().to_string())
    }

    async fn managed_product(&self) -> Value {
        let (status, products) = self.admin.call(Method::GET, "/products", None).await;
        assert_eq!(status, 200);
        products["items"].as_array().unwrap().iter().find(|p| p["name"] == "Echo (Managed)").unwrap().clone()
    }
}

fn spec_of(product: &Value) -> Value {
    json!({
        "name": product["name"], "description": product["description"], "apis": product["apis"], "plans": product["plans"],
        "published": product["published"], "visible_to": product["visible_to"],
        "certificate_mode": product["certificate_mode"], "certificate_binding": product["certificate_binding"],
    })
}

#[tokio::test]
async fn unlinking_the_last_certificate_is_previewed_with_a_warning_and_then_refused() {
    let demo = demo().await;
    let mut conn = demo.acme_connection().await;
    assert_eq!(demo.call_managed(&mut conn).await.0, 200);

    let path = format!("/certificates/{}?dry_run=true", demo.acme_cert_id);
    let (status, preview) = demo.admin.call(Method::PATCH, &path, Some(json!({"organisations": []}))).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["dry_run"], true);
    let change = &preview["change"];
    assert!(change["credentials_stop_working"].as_u64().unwrap() >= 1, "{change}");
    assert!(change["warnings"][0].as_str().unwrap().contains("stop"), "{change}");
    let stopping: Vec<&Value> = change["credentials"].as_array().unwrap().iter().filter(|c| c["organisation"] == demo.acme_org.as_str()).collect();
    assert!(!stopping.is_empty(), "Acme's credentials are named: {change}");
    assert!(stopping.iter().all(|c| c["after"]["certificates"].as_array().is_none_or(Vec::is_empty)), "{change}");
    assert!(
        change["allow_lists"].as_array().unwrap().iter().any(|a| a["leaving"].as_array().unwrap().iter().any(|c| c == demo.acme_cert_id.as_str())),
        "the certificate leaves an allow list: {change}"
    );
    // Nothing changed: still linked, still admitted on the same connection.
    let (_, cert) = demo.admin.call(Method::GET, &format!("/certificates/{}", demo.acme_cert_id), None).await;
    assert!(cert.to_string().contains(&demo.acme_org), "still linked: {cert}");
    assert_eq!(demo.call_managed(&mut conn).await.0, 200, "a dry run changes nothing");

    // For real: the answer carries the same warning, and the next request is refused.
    let (status, answer) =
        demo.admin.call(Method::PATCH, &format!("/certificates/{}", demo.acme_cert_id), Some(json!({"organisations": []}))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["dry_run"], false);
    assert_eq!(answer["change"]["credentials_stop_working"], change["credentials_stop_working"]);
    assert_ne!(demo.call_managed(&mut conn).await.0, 200, "unlinked: refused from the next request");

    // Linking it back is previewed as joining again, without a warning.
    let link = json!({"organisations": [demo.acme_org]});
    let (_, preview) = demo.admin.call(Method::PATCH, &format!("/certificates/{}?dry_run=true", demo.acme_cert_id), Some(link.clone())).await;
    assert_eq!(preview["change"]["credentials_stop_working"], 0, "{preview}");
    assert!(preview["change"]["warnings"].as_array().unwrap().is_empty());
    let (status, _) = demo.admin.call(Method::PATCH, &format!("/certificates/{}", demo.acme_cert_id), Some(link)).await;
    assert_eq!(status, 200);
    let mut conn = demo.acme_connection().await;
    assert_eq!(demo.call_managed(&mut conn).await.0, 200);
}

#[tokio::test]
async fn a_product_change_is_previewed_without_being_applied() {
    let demo = demo().await;
    let product = demo.managed_product().await;
    let id = product["id"].as_str().unwrap();
    let mut spec = spec_of(&product);
    spec["certificate_binding"] = json!(false);
    let (status, preview) = demo.admin.call(Method::PUT, &format!("/products/{id}?dry_run=true"), Some(spec.clone())).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!((preview["dry_run"].as_bool(), preview["certificate_binding"].as_bool()), (Some(true), Some(false)), "the product as it would be");
    let credentials = preview["change"]["credentials"].as_array().unwrap();
    assert!(!credentials.is_empty(), "{preview}");
    assert!(credentials.iter().all(|c| c["before"]["bound"] == true && c["after"]["bound"] == false), "{preview}");
    assert_eq!(demo.managed_product().await["certificate_binding"], true, "a dry run changes nothing");

    // A bad query is refused, like a bad body.
    let (status, refused) = demo.admin.call(Method::PUT, &format!("/products/{id}?dry_run=maybe"), Some(spec.clone())).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("invalid_query")), "{refused}");

    let (status, applied) = demo.admin.call(Method::PUT, &format!("/products/{id}"), Some(spec)).await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["change"]["credentials"].as_array().unwrap().len(), credentials.len());
    assert_eq!(demo.managed_product().await["certificate_binding"], false);
}
