//! The OpenAPI document's frame: metadata, security schemes, and the refusals every
//! authenticated route shares. Paths and schemas come from the handlers and wire types.

use certgate_core::problem::{Problem, PROBLEM_JSON};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// Security scheme names, as handlers refer to them in `security(...)`.
pub const ADMIN_TOKEN: &str = "admin_token";
pub const SESSION: &str = "session";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "certgate admin REST API",
        description = "The API owner's control plane. Lists answer `{\"items\": [...], \"next_cursor\": ...}`: pass \
                       `next_cursor` back as `cursor` for the next page; a cursor is opaque and works only for the caller \
                       it was made for. Every error is RFC 9457 `application/problem+json` with a stable `code`."
    ),
    components(schemas(Problem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "meta", description = "This document"),
        (name = "organisations", description = "Consumer organisations"),
        (name = "certificates", description = "The provider's certificate store"),
        (name = "apis", description = "API definitions the gateway enforces"),
        (name = "keys", description = "Auth Tokens issued by the admin"),
        (name = "plans", description = "Rate limits, quotas and approval rules of subscriptions"),
        (name = "products", description = "APIs published to consumers, with plans, visibility and certificate mode"),
        (name = "apps", description = "Consumer apps, for the admin"),
        (name = "subscriptions", description = "Apps' subscriptions to products, for the admin"),
        (name = "credentials", description = "Every credential: the admin's keys and the portal's"),
        (name = "audit", description = "Who changed what, newest first"),
        (name = "users", description = "Consumers, their invite and password-reset links"),
        (name = "webhooks", description = "Endpoints notified of events (Standard Webhooks), and their delivery logs"),
        (name = "session", description = "Consumer sign-in and sign-out, link redemption and sign-up (no bearer token)")
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The admin token (`--admin-token-file`). With it, the session cookie is not read."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "certgate_session",
                "An admin's portal session (`__Host-certgate_session` over TLS). State changes must be same-origin.",
            ))),
        );
        for (name, _, description) in REFUSALS {
            components.responses.insert(name.to_string(), RefOr::T(problem_response(description)));
        }
    }
}

/// Refusals any authenticated route can answer: (component name, status, description).
const REFUSALS: [(&str, &str, &str); 3] = [
    ("Unauthenticated", "401", "No valid admin token or session"),
    ("Forbidden", "403", "Signed in, but not as an administrator"),
    ("Internal", "500", "A fault on the server (the cause is logged, not shown)"),
];

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
        .build()
}

/// Adds the shared refusals to every operation that requires authentication, so no handler can
/// forget them.
pub fn document_refusals(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            if is_authenticated(operation) {
                for (name, status, _) in REFUSALS {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
}

fn is_authenticated(operation: &Operation) -> bool {
    operation.security.as_ref().is_some_and(|s| !s.is_empty())
}
