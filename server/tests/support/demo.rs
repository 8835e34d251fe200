//! A server started with `--demo` and what its tests need of the demo data: Acme's Managed
//! token and certificate, the organisations' ids, gateway connections with the demo's
//! client certificates, the Managed echo product.

use reqwest::Method;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

use super::gateway::{connect_with, Admin, Conn};
use super::{install_crypto_provider, Server};

pub struct Demo {
    pub server: Server,
    _dir: tempfile::TempDir,
    pub admin: Admin,
    /// Acme's token on the Managed echo product.
    pub acme_token: String,
    /// The id of Acme's certificate (`demo/client.crt`).
    pub acme_cert_id: String,
    pub acme_org: String,
    pub globex_org: String,
}

/// The id of a PEM certificate file (the SHA-256 of its DER).
pub fn cert_id(path: &std::path::Path) -> String {
    let der = CertificateDer::from_pem_file(path).unwrap();
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(der.as_ref()))
}

pub async fn demo() -> Demo {
    install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = Server::start_in(&data_dir, &["--demo"]);
    let admin = Admin::new(&server);
    let demo_dir = data_dir.join("demo");
    // The demo writes its token files before the listeners report ready.
    let acme_token = std::fs::read_to_string(demo_dir.join("acme-managed.token")).unwrap().lines().next().unwrap().to_string();
    let acme_cert_id = cert_id(&demo_dir.join("client.crt"));
    let (status, orgs) = admin.call(Method::GET, "/organisations", None).await;
    assert_eq!(status, 200, "{orgs}");
    let org = |name: &str| orgs["items"].as_array().unwrap().iter().find(|o| o["name"] == name).unwrap()["id"].as_str().unwrap().to_string();
    let (acme_org, globex_org) = (org("Acme Corp"), org("Globex"));
    Demo { server, _dir: dir, admin, acme_token, acme_cert_id, acme_org, globex_org }
}

impl Demo {
    /// A gateway connection presenting the demo certificate `name` (`client` is Acme's).
    pub async fn connection(&self, name: &str) -> Conn {
        let demo_dir = self.server.data_dir.join("demo");
        let der = CertificateDer::from_pem_file(demo_dir.join(format!("{name}.crt"))).unwrap().to_vec();
        let key = std::fs::read_to_string(demo_dir.join(format!("{name}.key"))).unwrap();
        connect_with(&self.server, &[der], Some(&key), "localhost").await
    }

    /// Acme's token on the Managed echo API: (status, problem code).
    pub async fn call_managed(&self, conn: &mut Conn) -> (u16, String) {
        let bearer = format!("Bearer {}", self.acme_token);
        let answer = conn.get("/demo-managed/hello", &[("authorization", &bearer)]).await;
        (answer.status, answer.code().to_string())
    }

    pub async fn managed_product(&self) -> Value {
        let (status, products) = self.admin.call(Method::GET, "/products", None).await;
        assert_eq!(status, 200);
        products["items"].as_array().unwrap().iter().find(|p| p["name"] == "Echo (Managed)").unwrap().clone()
    }
}
