//! Demo data (`--demo`): two organisations with a consumer each, a demo CA and client
//! certificates, an echo upstream on loopback, a Managed product with binding and a Self-Serve
//! product over it, approved credentials with minted tokens, an admin token, and the `curl`
//! commands that use them, printed at every start.
//!
//! Everything goes through the real services (app, access request, approval, mint), and every
//! step first looks for what an earlier start made: a restart creates nothing twice and loses
//! nothing. Demo only: keys and tokens are written to `DATA_DIR/demo/` (mode 0600) so the
//! commands can be printed again; real tokens are shown once and stored only as hashes.

mod access;
mod catalogue;
mod commands;
mod echo;
mod pki;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use app::ssr::PortalServices;
use certgate_services::accounts::{NewUser, OrgRole, Role};
use certgate_services::admin_tokens::AdminTokens;
use certgate_services::portal::Actor;

pub use commands::{lines, Endpoints};

/// The audit log's name for what the demo does as the admin.
const ACTOR: &str = "demo-setup";

/// The documented password of both demo consumers (README.md).
pub const CONSUMER_PASSWORD: &str = "demo-consumer-password";

/// A demo organisation, its consumer and the app the consumer made.
pub struct DemoOrganisation {
    pub name: &'static str,
    pub consumer_email: &'static str,
    consumer_name: &'static str,
    app: &'static str,
}

pub const ACME: DemoOrganisation =
    DemoOrganisation { name: "Acme Corp", consumer_email: "dev@acme.example", consumer_name: "Dana Developer", app: "Acme Checkout" };
pub const GLOBEX: DemoOrganisation =
    DemoOrganisation { name: "Globex", consumer_email: "dev@globex.example", consumer_name: "Gus Globex", app: "Globex Billing" };

/// Files of `DATA_DIR/demo/`.
pub(crate) mod files {
    /// The Acme Corp certificate (also the one of the portal-health API and its admin key).
    pub const ACME_CERT: &str = "client";
    /// Globex's certificate, linked to Globex (Managed).
    pub const GLOBEX_CERT: &str = "globex";
    /// The certificate Globex submits with its Self-Serve request.
    pub const GLOBEX_SELF_SERVE_CERT: &str = "globex-self-serve";
    /// The admin key of the portal-health API (`/demo`).
    pub const HEALTH_TOKEN: &str = "token";
    pub const ACME_MANAGED_TOKEN: &str = "acme-managed.token";
    pub const GLOBEX_MANAGED_TOKEN: &str = "globex-managed.token";
    pub const GLOBEX_SELF_SERVE_TOKEN: &str = "globex-self-serve.token";
    pub const ADMIN_TOKEN: &str = "admin-token";
}

pub fn demo_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("demo")
}

fn admin() -> Actor {
    Actor::Admin { name: ACTOR.into() }
}

/// Makes whatever of the demo data is missing. `portal` is the portal's address (the
/// portal-health API proxies to it) and `echo` the echo upstream's: both may change between
/// starts (port 0), so the demo APIs are pointed at the current ones.
pub async fn seed(
    services: &PortalServices,
    admin_tokens: &AdminTokens,
    data_dir: &Path,
    portal: SocketAddr,
    echo: SocketAddr,
) -> anyhow::Result<()> {
    let dir = demo_dir(data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let (acme, acme_org) = consumer_of(services, &ACME).await?;
    let (globex, globex_org) = consumer_of(services, &GLOBEX).await?;
    let ca = pki::ensure_ca(&dir)?;
    let acme_cert = pki::ensure_client(&ca, &dir, files::ACME_CERT, "Acme demo client", ACME.name)?;
    let globex_cert = pki::ensure_client(&ca, &dir, files::GLOBEX_CERT, "Globex demo client", GLOBEX.name)?;
    let self_serve_cert = pki::ensure_client(&ca, &dir, files::GLOBEX_SELF_SERVE_CERT, "Globex self-serve client", GLOBEX.name)?;

    let store = catalogue::CertificateStore(services);
    store.ensure(&std::fs::read_to_string(&ca.crt)?, "certgate demo CA", None).await?;
    let acme_id = store.ensure(&acme_cert.pem()?, "Acme demo client", Some(&acme_org)).await?;
    store.ensure(&globex_cert.pem()?, "Globex demo client", Some(&globex_org)).await?;

    catalogue::ensure_health_api(services, &dir, portal, &acme_id).await.context("the portal-health API")?;
    let products = catalogue::ensure_products(services, echo).await.context("the demo products")?;

    let subscriptions = [
        (&acme, ACME.app, &products.managed, None, files::ACME_MANAGED_TOKEN),
        (&globex, GLOBEX.app, &products.managed, None, files::GLOBEX_MANAGED_TOKEN),
        (&globex, GLOBEX.app, &products.self_serve, Some(self_serve_cert.pem()?), files::GLOBEX_SELF_SERVE_TOKEN),
    ];
    for (consumer, app, product, certificate, token_file) in subscriptions {
        let want = access::Subscription { app, product, plan: &products.plan, certificate: certificate.map(String::into_bytes) };
        access::ensure_credential(services, consumer, want, &dir.join(token_file))
            .await
            .with_context(|| format!("the demo credential of {app} ({token_file})"))?;
    }
    access::ensure_admin_token(admin_tokens, &dir.join(files::ADMIN_TOKEN)).await.context("the demo admin token")?;
    Ok(())
}

/// Starts the echo upstream, on the port the demo APIs already use if it is free.
pub async fn start_echo(services: &PortalServices) -> anyhow::Result<echo::EchoUpstream> {
    let apis = services.apis.list().await?;
    let port = apis
        .iter()
        .find(|a| a.spec.listen_path.trim_end_matches('/') == catalogue::MANAGED_PATH)
        .and_then(|a| a.spec.upstream_url.strip_prefix("http://127.0.0.1:")?.trim_end_matches('/').parse().ok());
    echo::start(port).await
}

/// The organisation and its consumer, made if missing: the consumer as a portal actor, and
/// the organisation's id.
async fn consumer_of(services: &PortalServices, demo: &DemoOrganisation) -> anyhow::Result<(Actor, String)> {
    if let Some(user) = services.accounts.find_by_email(demo.consumer_email).await? {
        let organisation = user.organisation_id.with_context(|| format!("{} belongs to no organisation", demo.consumer_email))?;
        let role = user.org_role.unwrap_or(OrgRole::Member);
        return Ok((Actor::Consumer { user: user.id, organisation: organisation.clone(), role }, organisation));
    }
    let existing = services.organisations.list().await?.into_iter().find(|o| o.name.eq_ignore_ascii_case(demo.name));
    let org = match existing {
        Some(org) => org,
        None => services.organisations.create(demo.name).await?,
    };
    let user = services
        .accounts
        .create_user(NewUser {
            email: demo.consumer_email,
            display_name: demo.consumer_name,
            password: CONSUMER_PASSWORD,
            role: Role::Consumer,
            organisation_id: Some(&org.id),
        })
        .await?;
    let role = user.org_role.unwrap_or(OrgRole::Member);
    Ok((Actor::Consumer { user: user.id, organisation: org.id.clone(), role }, org.id))
}

/// A secret of the demo's files (first line), if the file exists.
fn read_secret(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().next()?.trim().to_string();
    (!line.is_empty()).then_some(line)
}

/// Writes a secret to a new file of mode 0600 (an old one is removed first: the mode is set
/// when a file is created).
fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot replace {}", path.display())),
    }
    certgate_gateway::tls::write_private(path, format!("{secret}\n").as_bytes())?;
    Ok(())
}
