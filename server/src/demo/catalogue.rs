//! What the API owner has in the demo: certificates in the store (linked to their
//! organisations), the portal-health API with its admin key, the echo APIs, a plan, and the
//! Managed and Self-Serve products. Each is looked up (by certificate id, listen path or name)
//! before it is made; the APIs follow the upstream's current address.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use app::ssr::PortalServices;
use certgate_core::gateway::spec::{ApiSpec, AuthKind, KeySpec, MtlsSpec, Quota, QuotaPeriod, Rate, TimeoutsSpec};
use certgate_core::pki::{self, Encoding};
use certgate_core::portal::plan::PlanSpec;
use certgate_core::portal::product::{CertificateMode, ProductSpec};
use certgate_services::ServiceError;

use super::{echo, files, read_secret, write_secret, ACTOR};

pub const HEALTH_PATH: &str = "/demo";
pub const MANAGED_PATH: &str = "/demo-managed";
pub const SELF_SERVE_PATH: &str = "/demo-self-serve";
const PLAN: &str = "Demo";
const MANAGED_PRODUCT: &str = "Echo (Managed)";
const SELF_SERVE_PRODUCT: &str = "Echo (Self-Serve)";

/// The provider's certificate store, for the demo's certificates.
pub struct CertificateStore<'a>(pub &'a PortalServices);

impl CertificateStore<'_> {
    /// Adds the certificate (with its portal name) unless it is stored, and links it to
    /// `organisation` unless it is linked. Returns its id.
    pub async fn ensure(&self, pem: &str, name: &str, organisation: Option<&str>) -> anyhow::Result<String> {
        let certificates = &self.0.certificates;
        let (_, facts) = pki::read_one_certificate(pem.as_bytes(), Encoding::Pem).map_err(|e| anyhow::anyhow!("{name}: {}", e.message()))?;
        let entry = match certificates.get(&facts.id).await {
            Ok(entry) => entry,
            Err(ServiceError::NotFound { .. }) => {
                certificates.add(pem.as_bytes(), Encoding::Pem, ACTOR).await?;
                certificates.set_display_name(&facts.id, name, ACTOR).await?
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(organisation) = organisation {
            if !entry.meta.organisation_ids.contains(organisation) {
                certificates.link_organisation(&facts.id, organisation, ACTOR).await?;
            }
        }
        Ok(facts.id)
    }
}

fn api_spec(name: &str, listen_path: &str, upstream: String, allowed: Vec<String>) -> ApiSpec {
    ApiSpec {
        name: name.into(),
        listen_path: listen_path.into(),
        upstream_url: upstream,
        upstream_ca: None,
        upstream_pin: None,
        strip_listen_path: true,
        auth: AuthKind::AuthToken,
        mtls: MtlsSpec { required: true, allowed_certificates: allowed },
        jwt: None,
        timeouts: TimeoutsSpec::default(),
        identity_header: Some(echo::IDENTITY_HEADER.into()),
        max_body_bytes: 1024 * 1024,
        strip_request_headers: Vec::new(),
    }
}

/// The API at `spec.listen_path`, made if missing, else pointed at `spec.upstream_url`.
/// Returns its id and whether it was made now.
async fn ensure_api(services: &PortalServices, spec: ApiSpec) -> anyhow::Result<(String, bool)> {
    let path = spec.listen_path.trim_end_matches('/').to_string();
    let existing = services.apis.list().await?.into_iter().find(|a| a.spec.listen_path.trim_end_matches('/') == path);
    match existing {
        Some(api) if api.spec.upstream_url == spec.upstream_url => Ok((api.id, false)),
        Some(api) => {
            let upstream = spec.upstream_url;
            services
                .apis
                .modify(&api.id, ACTOR, "api.updated", move |current| {
                    current.upstream_url = upstream;
                    Ok(())
                })
                .await?;
            Ok((api.id, false))
        }
        None => Ok((services.apis.create(spec, ACTOR).await?.id, true)),
    }
}

/// `/demo`: proxies to the portal's own `/healthz`, allow-listed for Acme's certificate by the
/// admin, with an admin key bound to it (the token in `demo/token`).
pub async fn ensure_health_api(services: &PortalServices, dir: &Path, portal: SocketAddr, acme_certificate: &str) -> anyhow::Result<()> {
    let spec = api_spec("Portal health (demo)", HEALTH_PATH, format!("http://{portal}/"), vec![acme_certificate.to_string()]);
    let (api, _) = ensure_api(services, spec).await?;
    let token_file = dir.join(files::HEALTH_TOKEN);
    if read_secret(&token_file).is_some() {
        return Ok(());
    }
    let key = services
        .keys
        .create(
            KeySpec {
                apis: vec![api],
                bound_certificates: Some(vec![acme_certificate.to_string()]),
                rate: Some(Rate { requests: 20, per_seconds: 1 }),
                quota: Some(Quota { max: 10_000, period: QuotaPeriod::Day }),
                expires_at: None,
            },
            ACTOR,
        )
        .await?;
    write_secret(&token_file, &key.token)
}

/// The ids the subscriptions need.
pub struct Products {
    pub plan: String,
    pub managed: String,
    pub self_serve: String,
}

/// The echo APIs (Auth Token + mTLS, no admin allow-list entry: the products' credentials make
/// their allow lists), the plan, and the two products over them.
pub async fn ensure_products(services: &PortalServices, echo: SocketAddr) -> anyhow::Result<Products> {
    let upstream = format!("http://{echo}/");
    let (managed_api, _) = ensure_api(services, api_spec("Echo, Managed (demo)", MANAGED_PATH, upstream.clone(), Vec::new())).await?;
    let (self_serve_api, _) = ensure_api(services, api_spec("Echo, Self-Serve (demo)", SELF_SERVE_PATH, upstream, Vec::new())).await?;

    let plan = match services.plans.list().await?.into_iter().find(|p| p.spec.name == PLAN) {
        Some(plan) => plan.id,
        None => {
            let spec = PlanSpec {
                name: PLAN.into(),
                rate: Some(Rate { requests: 60, per_seconds: 60 }),
                quota: Some(Quota { max: 10_000, period: QuotaPeriod::Day }),
                auto_approve: false,
                token_lifetime_seconds: None,
            };
            services.plans.create(spec, ACTOR).await.context("the demo plan")?.id
        }
    };
    let products = services.products.list().await?;
    let ensure = async |name: &str, description: &str, api: String, mode: CertificateMode| -> anyhow::Result<String> {
        if let Some(product) = products.iter().find(|p| p.spec.name == name) {
            return Ok(product.id.clone());
        }
        let spec = ProductSpec {
            name: name.into(),
            description: description.into(),
            apis: vec![api],
            plans: vec![plan.clone()],
            published: true,
            visible_to: None,
            certificate_mode: Some(mode),
            certificate_binding: true,
        };
        Ok(services.products.create(spec, ACTOR).await?.id)
    };
    let managed = ensure(
        MANAGED_PRODUCT,
        "The demo echo upstream. Managed: the administrator links certificates to your organisation; tokens are bound to them.",
        managed_api,
        CertificateMode::Managed,
    )
    .await?;
    let self_serve = ensure(
        SELF_SERVE_PRODUCT,
        "The demo echo upstream. Self-Serve: you submit your client certificate with the request; the token is bound to it.",
        self_serve_api,
        CertificateMode::SelfServe,
    )
    .await?;
    Ok(Products { plan, managed, self_serve })
}
