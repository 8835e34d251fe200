//! What the demo consumers did, through the portal's own services: an app, an access request,
//! its approval by the admin, the token minted once. The token goes to a file (demo only) so
//! that later starts print the same commands; a file that no longer matches the credential
//! (deleted, or the token rotated in the portal) is replaced by rotating.

use std::path::Path;

use anyhow::{bail, Context};
use app::ssr::PortalServices;
use certgate_core::gateway::token_hash;
use certgate_core::portal::request::RequestKind;
use certgate_services::admin_tokens::AdminTokens;
use certgate_services::portal::credentials::CredentialEntry;
use certgate_services::portal::requests::NewRequest;
use certgate_services::portal::Actor;

use super::{admin, read_secret, write_secret};

/// One subscription the demo wants, for a consumer's app.
pub struct Subscription<'a> {
    pub app: &'a str,
    pub product: &'a str,
    pub plan: &'a str,
    /// Self-Serve: the certificate submitted with the request.
    pub certificate: Option<Vec<u8>>,
}

/// The app's credential for `product`, if it has one.
async fn credential_for(services: &PortalServices, consumer: &Actor, app: &str, product: &str) -> anyhow::Result<Option<CredentialEntry>> {
    let mut all = services.credentials.of_app(consumer, app).await?;
    all.retain(|c| c.subscription.product == product);
    // A live one first, should an earlier one have been revoked.
    all.sort_by_key(|c| c.credential.tokens.revoked_at.is_some());
    Ok(all.into_iter().next())
}

/// The app, the approved subscription and the minted token (in `token_file`), each made only
/// if missing.
pub async fn ensure_credential(services: &PortalServices, consumer: &Actor, want: Subscription<'_>, token_file: &Path) -> anyhow::Result<()> {
    let existing = services.apps.list(consumer).await?.into_iter().find(|a| a.name == want.app);
    let app = match existing {
        Some(app) => app,
        None => services.apps.create(consumer, want.app).await?,
    };
    let entry = match credential_for(services, consumer, &app.id, want.product).await? {
        Some(entry) => entry,
        None => {
            let pending = services.access_requests.list(&admin(), Some("pending")).await?.into_iter().find(|r| {
                r.app == app.id && matches!(&r.kind, RequestKind::Subscribe { product, .. } if product == want.product)
            });
            let request = match pending {
                Some(request) => request,
                None => {
                    let new = NewRequest { product: want.product.into(), plan: want.plan.into(), certificate: want.certificate };
                    services.access_requests.create(consumer, &app.id, new).await?
                }
            };
            if request.state.name() == "pending" {
                services.access_requests.approve(&admin(), &request.id).await?;
            }
            credential_for(services, consumer, &app.id, want.product).await?.context("the approved request made no credential")?
        }
    };
    let credential = &entry.credential;
    if credential.tokens.revoked_at.is_some() {
        bail!("its credential {} was revoked in the portal; delete the data directory to start the demo over", credential.id);
    }
    let on_file = read_secret(token_file);
    let token = match (&credential.tokens.current, on_file) {
        (Some(current), Some(token)) if token_hash(&token) == current.sha256 => return Ok(()),
        (None, _) => services.credentials.mint(consumer, &credential.id).await?,
        // Lost or out of date: a new token, the old one ending now.
        (Some(_), _) => services.credentials.rotate(consumer, &credential.id, 0).await?,
    };
    write_secret(token_file, &token)
}

/// An admin REST token for the demo: the one in `token_file` while the store still knows it,
/// else a new one (stored as its hash only, like every admin token).
pub async fn ensure_admin_token(tokens: &AdminTokens, token_file: &Path) -> anyhow::Result<()> {
    if let Some(token) = read_secret(token_file) {
        if tokens.find(&token).await?.is_some() {
            return Ok(());
        }
    }
    let (_, token) = tokens.create("demo").await?;
    write_secret(token_file, &token)
}
