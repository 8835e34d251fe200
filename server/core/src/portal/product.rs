//! API products: the APIs they bundle, the plans they offer, who sees them, and — for Auth
//! Token + mTLS APIs — the seed's Mutual TLS Certificate Mode and Certificate-Token Binding.

use serde::{Deserialize, Serialize};

use super::plan::checked_name;
use crate::gateway::spec::{AuthKind, SpecError};

const MAX_DESCRIPTION_CHARS: usize = 2_000;
const MAX_APIS: usize = 100;
const MAX_PLANS: usize = 20;

/// Where a credential's client certificates come from (the seed, Portal 1.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CertificateMode {
    /// The admin links certificates to organisations; a credential takes all of its
    /// organisation's certificates.
    Managed,
    /// The consumer uploads a certificate with the access request.
    SelfServe,
}

/// A product as the admin writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// API ids.
    pub apis: Vec<String>,
    /// Plan ids offered, in display order.
    #[serde(default)]
    pub plans: Vec<String>,
    /// Only published products are in the consumers' catalogue.
    #[serde(default)]
    pub published: bool,
    /// `None`: every organisation sees it; otherwise only these organisation ids.
    #[serde(default)]
    pub visible_to: Option<Vec<String>>,
    /// For products of Auth Token + mTLS APIs only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_mode: Option<CertificateMode>,
    /// For products of Auth Token + mTLS APIs only: tokens work only with their certificates.
    #[serde(default)]
    pub certificate_binding: bool,
}

/// What the product checks need to know of each API it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFacts {
    pub id: String,
    pub auth: AuthKind,
    pub mtls_required: bool,
}

/// How a product's credentials authenticate, decided by its APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductAuth {
    /// Auth Tokens the portal issues; certificates per the product's mode.
    AuthToken { mtls: bool },
    /// JWTs from the API owner's issuer: the portal issues no token, and the allow list stays
    /// on the API, managed by the admin (the seed).
    Jwt,
}

impl ProductSpec {
    /// Checks the product against the APIs it names (`apis` holds the facts of those found;
    /// a missing one is refused) and puts it in canonical form. A product of Auth Token + mTLS
    /// APIs without a mode gets `managed`.
    pub fn normalise(mut self, apis: &[ApiFacts]) -> Result<(ProductSpec, ProductAuth), SpecError> {
        self.name = checked_name(&self.name)?;
        self.description = self.description.trim().to_string();
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(SpecError::new("invalid_description", format!("The description must have at most {MAX_DESCRIPTION_CHARS} characters.")));
        }
        self.apis = dedupe(&self.apis);
        self.plans = dedupe(&self.plans);
        if self.apis.is_empty() || self.apis.len() > MAX_APIS {
            return Err(SpecError::new("invalid_apis", format!("A product bundles 1 to {MAX_APIS} APIs.")));
        }
        if self.plans.len() > MAX_PLANS {
            return Err(SpecError::new("invalid_plans", format!("A product offers at most {MAX_PLANS} plans.")));
        }
        if self.published && self.plans.is_empty() {
            return Err(SpecError::new("plan_missing", "A published product needs at least one plan to request access with."));
        }
        self.visible_to = self.visible_to.as_deref().map(dedupe);
        let mut facts = Vec::new();
        for id in &self.apis {
            let found = apis.iter().find(|a| &a.id == id).ok_or_else(|| {
                SpecError::new("unknown_api", format!("API {id} does not exist."))
            })?;
            facts.push(found);
        }
        let auth = product_auth(&facts)?;
        match auth {
            ProductAuth::Jwt if self.certificate_mode.is_some() || self.certificate_binding => {
                return Err(SpecError::new(
                    "certificate_mode_not_applicable",
                    "This product's APIs use JWT: the client-certificate allow list is managed on each API by the admin, \
                     so the Managed and Self-Serve certificate modes and certificate binding do not apply.",
                ))
            }
            ProductAuth::AuthToken { mtls: false } if self.certificate_mode.is_some() || self.certificate_binding => {
                return Err(SpecError::new(
                    "certificate_mode_not_applicable",
                    "None of this product's APIs requires a client certificate: a certificate mode and binding apply only to Auth Token + mTLS APIs.",
                ))
            }
            ProductAuth::AuthToken { mtls: true } if self.certificate_mode.is_none() => {
                self.certificate_mode = Some(CertificateMode::Managed);
            }
            _ => {}
        }
        Ok((self, auth))
    }

    /// How a stored product's credentials authenticate, from the facts of its APIs as they are
    /// now (API edits that would change a product's validity are refused, so this stays one of
    /// the kinds `normalise` accepted).
    pub fn authentication(&self, apis: &[ApiFacts]) -> Result<ProductAuth, SpecError> {
        let mut facts = Vec::new();
        for id in &self.apis {
            facts.push(apis.iter().find(|a| &a.id == id).ok_or_else(|| SpecError::new("unknown_api", format!("API {id} does not exist.")))?);
        }
        product_auth(&facts)
    }

    /// Whether consumers of `organisation` see this product in their catalogue.
    pub fn visible_to_organisation(&self, organisation: &str) -> bool {
        self.published && self.visible_to.as_ref().is_none_or(|orgs| orgs.iter().any(|o| o == organisation))
    }
}

/// One kind of credential per product: a product mixing Auth Token and JWT APIs could not
/// give one credential for all of them.
fn product_auth(apis: &[&ApiFacts]) -> Result<ProductAuth, SpecError> {
    let mixed = || {
        SpecError::new(
            "mixed_authentication",
            "A product's APIs must all use Auth Tokens or all use JWTs: one credential must work for every API in it.",
        )
    };
    let mut auth: Option<ProductAuth> = None;
    for api in apis {
        let this = match api.auth {
            AuthKind::AuthToken => ProductAuth::AuthToken { mtls: api.mtls_required },
            AuthKind::Jwt => ProductAuth::Jwt,
            AuthKind::None => {
                return Err(SpecError::new(
                    "api_not_protected",
                    format!("API {} takes no credential: there is no access to grant in a product.", api.id),
                ))
            }
        };
        auth = Some(match (auth, this) {
            (None, this) => this,
            (Some(ProductAuth::AuthToken { mtls: a }), ProductAuth::AuthToken { mtls: b }) => ProductAuth::AuthToken { mtls: a || b },
            (Some(ProductAuth::Jwt), ProductAuth::Jwt) => ProductAuth::Jwt,
            _ => return Err(mixed()),
        });
    }
    auth.ok_or_else(|| SpecError::new("invalid_apis", "A product bundles at least one API."))
}

fn dedupe(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(id: &str, auth: AuthKind, mtls: bool) -> ApiFacts {
        ApiFacts { id: id.into(), auth, mtls_required: mtls }
    }

    fn product(apis: &[&str]) -> ProductSpec {
        ProductSpec {
            name: "Payments".into(),
            description: String::new(),
            apis: apis.iter().map(|s| s.to_string()).collect(),
            plans: vec!["plan_gold".into()],
            published: true,
            visible_to: None,
            certificate_mode: None,
            certificate_binding: false,
        }
    }

    #[test]
    fn modes_apply_to_auth_token_mtls_products_only() {
        let apis = [
            api("tok_mtls", AuthKind::AuthToken, true),
            api("tok", AuthKind::AuthToken, false),
            api("jwt", AuthKind::Jwt, true),
            api("open", AuthKind::None, false),
        ];
        let (spec, auth) = product(&["tok_mtls", "tok"]).normalise(&apis).unwrap();
        assert_eq!((spec.certificate_mode, auth), (Some(CertificateMode::Managed), ProductAuth::AuthToken { mtls: true }));
        let self_serve = ProductSpec { certificate_mode: Some(CertificateMode::SelfServe), certificate_binding: true, ..product(&["tok_mtls"]) };
        assert_eq!(self_serve.clone().normalise(&apis).unwrap().0, self_serve);

        let code = |p: ProductSpec| p.normalise(&apis).unwrap_err().code;
        let jwt_with_mode = ProductSpec { certificate_mode: Some(CertificateMode::Managed), ..product(&["jwt"]) };
        assert_eq!(code(jwt_with_mode), "certificate_mode_not_applicable");
        assert_eq!(code(ProductSpec { certificate_binding: true, ..product(&["jwt"]) }), "certificate_mode_not_applicable");
        assert_eq!(code(ProductSpec { certificate_binding: true, ..product(&["tok"]) }), "certificate_mode_not_applicable");
        assert_eq!(product(&["jwt"]).normalise(&apis).unwrap().1, ProductAuth::Jwt);
        assert_eq!(product(&["jwt"]).normalise(&apis).unwrap().0.certificate_mode, None);
        assert_eq!(code(product(&["jwt", "tok"])), "mixed_authentication");
        assert_eq!(code(product(&["open"])), "api_not_protected");
        assert_eq!(code(product(&["missing"])), "unknown_api");
        assert_eq!(product(&["tok", "tok_mtls"]).authentication(&apis).unwrap(), ProductAuth::AuthToken { mtls: true });
        assert_eq!(product(&["tok"]).authentication(&apis).unwrap(), ProductAuth::AuthToken { mtls: false });
        assert_eq!(product(&["jwt"]).authentication(&apis).unwrap(), ProductAuth::Jwt);
        assert_eq!(product(&["missing"]).authentication(&apis).unwrap_err().code, "unknown_api");
        assert_eq!(code(product(&[])), "invalid_apis");
        assert_eq!(code(ProductSpec { plans: vec![], ..product(&["tok"]) }), "plan_missing");
        assert!(ProductSpec { plans: vec![], published: false, ..product(&["tok"]) }.normalise(&apis).is_ok());
    }

    #[test]
    fn visibility() {
        let apis = [api("tok", AuthKind::AuthToken, false)];
        let everyone = product(&["tok", "tok"]).normalise(&apis).unwrap().0;
        assert_eq!(everyone.apis, vec!["tok".to_string()], "duplicates are dropped");
        assert!(everyone.visible_to_organisation("org_a"));
        let chosen = ProductSpec { visible_to: Some(vec!["org_a".into()]), ..everyone.clone() };
        assert!(chosen.visible_to_organisation("org_a") && !chosen.visible_to_organisation("org_b"));
        let draft = ProductSpec { published: false, ..everyone };
        assert!(!draft.visible_to_organisation("org_a"));
        let wire: ProductSpec = serde_json::from_value(serde_json::json!({
            "name": "P", "apis": ["tok"], "certificate_mode": "self_serve", "certificate_binding": true
        }))
        .unwrap();
        assert_eq!(wire.certificate_mode, Some(CertificateMode::SelfServe));
    }
}
