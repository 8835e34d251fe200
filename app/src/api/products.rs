//! API products: the APIs published to consumers, their plans, who sees them, and the seed's
//! certificate mode and binding (admin).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::apis::ApiSummary;
use crate::api::changes::Previewed;
use crate::error::AppError;

/// An id with the name the screens show for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// A product as the admin screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub apis: Vec<Named>,
    pub plans: Vec<Named>,
    pub published: bool,
    /// `None`: every organisation sees it.
    pub visible_to: Option<Vec<Named>>,
    /// `auth_token_mtls`, `auth_token` or `jwt`.
    pub authentication: String,
    /// `managed` or `self_serve`; `None` when modes do not apply.
    pub certificate_mode: Option<String>,
    pub certificate_binding: bool,
}

/// The product form as it is sent. Checkbox lists are `apis[]`, `plans[]` and `organisations[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductForm {
    pub name: String,
    pub description: Option<String>,
    pub apis: Option<Vec<String>>,
    pub plans: Option<Vec<String>>,
    pub published: Option<String>,
    /// `all` or `chosen`.
    pub visibility: Option<String>,
    pub organisations: Option<Vec<String>>,
    /// `managed` or `self_serve`; absent when the modes do not apply.
    pub certificate_mode: Option<String>,
    pub certificate_binding: Option<String>,
}

/// What a set of APIs makes of a product's credential (the same rule as the services', so
/// the form can explain it as the admin ticks APIs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductKind {
    NoApis,
    /// Auth Tokens, and at least one API requires a client certificate: the modes apply.
    AuthTokenMtls,
    /// Auth Tokens without mTLS.
    AuthToken,
    /// JWTs; `mtls`: at least one API requires a client certificate.
    Jwt { mtls: bool },
    Mixed,
    /// This API takes no credential.
    Unprotected(String),
}

impl ProductKind {
    pub fn of(apis: &[&ApiSummary]) -> ProductKind {
        let mut kind = ProductKind::NoApis;
        for api in apis {
            let this = match api.auth.as_str() {
                "auth_token" if api.mtls_required => ProductKind::AuthTokenMtls,
                "auth_token" => ProductKind::AuthToken,
                "jwt" => ProductKind::Jwt { mtls: api.mtls_required },
                _ => return ProductKind::Unprotected(api.name.clone()),
            };
            kind = match (kind, this) {
                (ProductKind::NoApis, this) => this,
                (ProductKind::AuthTokenMtls | ProductKind::AuthToken, ProductKind::AuthTokenMtls) => ProductKind::AuthTokenMtls,
                (ProductKind::AuthTokenMtls, ProductKind::AuthToken) => ProductKind::AuthTokenMtls,
                (ProductKind::AuthToken, ProductKind::AuthToken) => ProductKind::AuthToken,
                (ProductKind::Jwt { mtls: a }, ProductKind::Jwt { mtls: b }) => ProductKind::Jwt { mtls: a || b },
                _ => ProductKind::Mixed,
            };
        }
        kind
    }

    /// Whether the certificate mode and binding apply.
    pub fn modes_apply(&self) -> bool {
        *self == ProductKind::AuthTokenMtls
    }

    /// Why the modes do not apply (or what is wrong with the APIs), in plain words.
    pub fn explanation(&self) -> Option<String> {
        match self {
            ProductKind::AuthTokenMtls => None,
            ProductKind::NoApis => Some(
                "Choose the product's APIs. The certificate mode and binding apply when they use Auth Tokens and require a \
                 client certificate (mTLS)."
                    .into(),
            ),
            ProductKind::Jwt { mtls: true } => Some(
                "These APIs use JWT + mTLS, so the certificate modes and binding do not apply: consumers bring JWTs from your \
                 identity provider, and the client certificates each API admits stay on that API's allow list, which you manage \
                 on the API's page. The portal adds no certificates to it."
                    .into(),
            ),
            ProductKind::Jwt { mtls: false } => Some(
                "These APIs use JWT without a client certificate: consumers bring JWTs from your identity provider, and there is \
                 no certificate to manage or bind, so the certificate modes and binding do not apply."
                    .into(),
            ),
            ProductKind::AuthToken => Some(
                "These APIs use Auth Tokens but none requires a client certificate (mTLS): there is no certificate to manage or \
                 bind, so the certificate modes and binding do not apply. Require mTLS on an API to use them."
                    .into(),
            ),
            ProductKind::Mixed => Some(
                "These APIs mix Auth Tokens and JWTs: one credential must work for every API of a product, so choose APIs of one kind."
                    .into(),
            ),
            ProductKind::Unprotected(name) => Some(format!(
                "API {name} takes no credential (authentication None): there is no access to grant, so it cannot be in a product."
            )),
        }
    }
}

/// How a product's authentication reads.
pub fn authentication_label(authentication: &str) -> &'static str {
    match authentication {
        "auth_token_mtls" => "Auth Token + mTLS",
        "auth_token" => "Auth Token",
        _ => "JWT",
    }
}

/// How a certificate mode reads.
pub fn mode_label(mode: Option<&str>) -> &'static str {
    match mode {
        Some("managed") => "Managed",
        Some("self_serve") => "Self-Serve",
        _ => "Does not apply",
    }
}

/// The form field a service error belongs to, and what the form says about it.
pub fn product_error_field(e: &AppError) -> (&'static str, String) {
    let said = |text: &str| text.to_string();
    match e.code.as_str() {
        "invalid_name" => ("name", said("Give the product a name of 1 to 100 characters.")),
        "invalid_description" => ("description", said("The description is too long: at most 2,000 characters.")),
        "invalid_apis" => ("apis", said("Choose between 1 and 100 APIs.")),
        "unknown_api" => ("apis", said("One of the chosen APIs no longer exists: reload the page and choose again.")),
        "mixed_authentication" => ("apis", said("These APIs mix Auth Tokens and JWTs: choose APIs of one kind.")),
        "api_not_protected" => ("apis", said("An API without authentication cannot be in a product: it takes no credential.")),
        "plan_missing" => ("plans", said("A published product needs at least one plan: choose one, or leave it unpublished.")),
        "invalid_plans" => ("plans", said("A product offers at most 20 plans.")),
        "unknown_plan" => ("plans", said("One of the chosen plans no longer exists: reload the page and choose again.")),
        "unknown_organisation" => ("visibility", said("One of the chosen organisations no longer exists: reload the page.")),
        "visibility_empty" => ("visibility", said("Choose at least one organisation, or make the product visible to all.")),
        "certificate_mode_not_applicable" => ("mode", e.message.clone()),
        "invalid_mode" => ("mode", said("Choose Managed or Self-Serve.")),
        _ => ("form", e.message.clone()),
    }
}

#[server(prefix = "/fn", endpoint = "list_products")]
pub async fn list_products() -> Result<Vec<ProductView>, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_portal::product_views(&ssr::services()?, None).await
}

#[server(prefix = "/fn", endpoint = "get_product")]
pub async fn get_product(id: String) -> Result<ProductView, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let mut views = crate::ssr_portal::product_views(&ssr::services()?, Some(&id)).await?;
    views.pop().ok_or_else(|| {
        ssr::set_status(404);
        AppError::new("not_found", "No such product.")
    })
}

/// Creates a product (`id` empty: then shows its page) or replaces one. A change that alters
/// live credentials or allow lists is not applied at once: the answer says what it would do,
/// and the same form sent again with `confirm` (the token of that preview) applies it.
#[server(prefix = "/fn", endpoint = "save_product")]
pub async fn save_product(id: Option<String>, form: ProductForm, confirm: Option<String>) -> Result<Previewed<ProductView>, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let spec = crate::ssr_portal::product_spec(form)?;
    let services = ssr::services()?;
    if let Some(id) = id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        let answer = crate::ssr_changes::save_product(&services, &admin, id, spec, confirm.as_deref()).await?;
        return ssr::previewed(answer, <SaveProduct as leptos::server_fn::ServerFn>::PATH);
    }
    let entry = services.products.create_entry(spec, &admin.user.id).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, product = %entry.record.id, "product created");
    leptos_axum::redirect(&format!("/admin/products/{}", entry.record.id));
    let mut views = crate::ssr_portal::product_views(&services, Some(&entry.record.id)).await?;
    let value = views.pop().ok_or_else(|| AppError::new("internal", "The saved product could not be read back."))?;
    Ok(Previewed { applied: true, value, change: Default::default(), confirm: None, note: None, target: None })
}

/// Deletes a product; the form's confirmation box must be ticked.
#[server(prefix = "/fn", endpoint = "delete_product")]
pub async fn delete_product(id: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_portal::require_confirmation(confirm.as_deref())?;
    let services = ssr::services()?;
    if let Err(e) = services.products.delete(&id, &admin.user.id).await {
        return Err(crate::ssr_portal::in_use_error(&services, &admin, e).await);
    }
    leptos_axum::redirect("/admin/products");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(name: &str, auth: &str, mtls: bool) -> ApiSummary {
        ApiSummary {
            id: name.into(),
            name: name.into(),
            listen_path: format!("/{name}"),
            upstream_url: "http://127.0.0.1:9/".into(),
            auth: auth.into(),
            mtls_required: mtls,
            allowed_count: 0,
        }
    }

    #[test]
    fn the_form_explains_when_modes_do_not_apply() {
        let (tm, t, jm, j, open) =
            (api("a", "auth_token", true), api("b", "auth_token", false), api("c", "jwt", true), api("d", "jwt", false), api("e", "none", false));
        assert_eq!(ProductKind::of(&[&tm, &t]), ProductKind::AuthTokenMtls);
        assert!(ProductKind::of(&[&t, &tm]).modes_apply());
        assert_eq!(ProductKind::of(&[&t]), ProductKind::AuthToken);
        assert_eq!(ProductKind::of(&[&jm, &j]), ProductKind::Jwt { mtls: true });
        assert_eq!(ProductKind::of(&[&tm, &jm]), ProductKind::Mixed);
        assert_eq!(ProductKind::of(&[&tm, &open]), ProductKind::Unprotected("e".into()));
        assert_eq!(ProductKind::of(&[]), ProductKind::NoApis);
        assert!(ProductKind::AuthTokenMtls.explanation().is_none());
        let jwt = ProductKind::Jwt { mtls: true }.explanation().unwrap();
        assert!(jwt.contains("allow list") && jwt.contains("do not apply"), "{jwt}");
        assert!(ProductKind::AuthToken.explanation().unwrap().contains("none requires a client certificate"));
    }

    #[test]
    fn service_errors_land_on_their_field() {
        for (code, field) in [("unknown_api", "apis"), ("plan_missing", "plans"), ("unknown_organisation", "visibility"),
            ("certificate_mode_not_applicable", "mode"), ("invalid_name", "name"), ("other", "form")]
        {
            assert_eq!(product_error_field(&AppError::new(code, "m")).0, field, "{code}");
        }
    }
}
