//! Demo data for the gateway (`--demo` on an empty store): a client certificate with its key,
//! an API that proxies to the portal's own health endpoint, and an Auth Token bound to the
//! certificate, so the first `curl` through the gateway works out of the box.
//!
//! Demo only: the key and the token are written to `data-dir/demo/` (mode 0600) so the README's
//! command can use them. Real tokens are shown once and never stored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use app::ssr::PortalServices;
use certgate_core::gateway::spec::{ApiSpec, AuthKind, KeySpec, MtlsSpec, QuotaPeriod, Quota, Rate, TimeoutsSpec};
use certgate_core::pki::Encoding;

const ACTOR: &str = "demo-setup";

pub fn demo_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("demo")
}

/// Creates the demo client certificate, API and key. Called once, on a fresh demo store.
pub async fn seed(services: &PortalServices, data_dir: &Path, portal: SocketAddr) -> anyhow::Result<()> {
    let dir = demo_dir(data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let mut params = rcgen::CertificateParams::new(vec!["acme-demo-client".to_string()]).context("demo certificate")?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "Acme demo client");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "Acme Corp");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().context("demo key")?;
    let cert = params.self_signed(&key).context("demo certificate")?;
    certgate_gateway::tls::write_private(&dir.join("client.key"), key.serialize_pem().as_bytes())?;
    std::fs::write(dir.join("client.crt"), cert.pem()).context("demo certificate")?;

    let entry = services.certificates.add(cert.pem().as_bytes(), Encoding::Pem, ACTOR).await?;
    let certificate_id = entry.record.facts.id.clone();
    services.certificates.set_display_name(&certificate_id, "Acme demo client", ACTOR).await?;
    if let Some(acme) = services.organisations.list().await?.into_iter().find(|o| o.name == "Acme Corp") {
        services.certificates.link_organisation(&certificate_id, &acme.id, ACTOR).await?;
    }
    let api = services
        .apis
        .create(
            ApiSpec {
                name: "Portal health (demo)".into(),
                listen_path: "/demo".into(),
                upstream_url: format!("http://{portal}/"),
                upstream_ca: None,
                upstream_pin: None,
                strip_listen_path: true,
                auth: AuthKind::AuthToken,
                mtls: MtlsSpec { required: true, allowed_certificates: vec![certificate_id.clone()] },
                jwt: None,
                timeouts: TimeoutsSpec::default(),
                identity_header: Some("x-client-identity".into()),
                max_body_bytes: 1024 * 1024,
                strip_request_headers: Vec::new(),
            },
            ACTOR,
        )
        .await?;
    let key = services
        .keys
        .create(
            KeySpec {
                apis: vec![api.id],
                bound_certificates: Some(vec![certificate_id]),
                rate: Some(Rate { requests: 20, per_seconds: 1 }),
                quota: Some(Quota { max: 10_000, period: QuotaPeriod::Day }),
                expires_at: None,
            },
            ACTOR,
        )
        .await?;
    certgate_gateway::tls::write_private(&dir.join("token"), format!("{}\n", key.token).as_bytes())?;
    Ok(())
}

/// The command that calls the demo API through the gateway, if the demo files exist.
pub fn curl_hint(data_dir: &Path, gateway: SocketAddr) -> Option<String> {
    let dir = demo_dir(data_dir);
    if !dir.join("token").exists() {
        return None;
    }
    let d = dir.display();
    Some(format!(
        "curl --cacert {gw}/server.crt --cert {d}/client.crt --key {d}/client.key \\\n      -H \"Authorization: Bearer $(cat {d}/token)\" https://localhost:{port}/demo/healthz",
        gw = data_dir.join("gateway-tls").display(),
        port = gateway.port(),
    ))
}
