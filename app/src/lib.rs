//! certgate's portal: the admin portal (under `/admin`) and the developer portal (under `/`).
//!
//! Rendered on the server (feature `ssr`) and hydrated in the browser (feature `hydrate`).
//! Server-only code lives in `ssr` and never reaches the wasm build.

pub mod api;
pub mod browser;
pub mod components;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod ssr_accounts;
#[cfg(feature = "ssr")]
pub mod ssr_admin;
#[cfg(feature = "ssr")]
pub mod ssr_changes;
#[cfg(feature = "ssr")]
pub mod ssr_portal;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::api::{current_user, Me};
use crate::components::Header;
use crate::error::AppError;
use crate::pages::*;

/// Where the page loads the main wasm and the stylesheet: the server names them by content
/// hash so that browsers may keep them for a year (server/src/assets.rs).
#[derive(Clone, Debug)]
pub struct SiteAssets {
    pub wasm: String,
    pub stylesheet: String,
}

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions, assets: &'static SiteAssets) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href=assets.stylesheet.as_str()/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The signed-in user (an error when signed out), loaded once per page and shared with every component.
pub type CurrentUser = Resource<Result<Me, AppError>>;

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let me: CurrentUser = Resource::new(|| (), |_| current_user());
    provide_context(me);
    view! {
        <Title text="certgate"/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header/>
            <main id="main" class="container">
                <Routes fallback=NotFound>
                    // Islands mode: every page is rendered by the server only (no lazy routes:
                    // a `#[lazy]` split point is a wasm export and would keep its pages in the
                    // bundle). The developer portal renders whole before it is sent (status 404 included).
                    <Route path=path!("/") view=PortalHomePage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/products") view=PortalProductsPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/products/:id") view=PortalProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/apps") view=PortalAppsPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/apps/:id") view=PortalAppPage ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view=SignInPage/>
                    <Route path=path!("/account") view=AccountPage/>
                    <Route path=path!("/invite") view=crate::pages::InvitePage/>
                    <Route path=path!("/reset-password") view=crate::pages::ResetPasswordPage/>
                    <Route path=path!("/admin") view=AdminHome/>
                    <Route path=path!("/admin/organisations") view=OrganisationsPage/>
                    <Route path=path!("/admin/organisations/:id") view=OrganisationDetailPage/>
                    <Route path=path!("/admin/audit") view=AuditPage/>
                    <Route path=path!("/admin/webhooks") view=WebhooksPage/>
                    <Route path=path!("/admin/apis") view=ApisPage/>
                    <Route path=path!("/admin/apis/:id") view=ApiDetailPage/>
                    <Route path=path!("/admin/certificates") view=CertificatesPage/>
                    <Route path=path!("/admin/certificates/:id") view=CertificateDetailPage/>
                    <Route path=path!("/admin/plans") view=PlansPage/>
                    <Route path=path!("/admin/plans/:id") view=PlanDetailPage/>
                    <Route path=path!("/admin/products") view=ProductsPage/>
                    <Route path=path!("/admin/products/:id") view=ProductDetailPage/>
                    <Route path=path!("/admin/access-requests") view=AccessRequestsPage/>
                    <Route path=path!("/admin/access-requests/:id") view=AccessRequestDetailPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// In the browser: make server-function redirects (sign-in, sign-out) full page loads, so the
/// next page is rendered by the server with the new session cookie.
#[cfg(feature = "hydrate")]
pub fn install_redirect_hook() {
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        let _ = window().location().set_href(location);
    });
}

/// In the browser (islands mode): set up the reactive root; Leptos's island script then
/// hydrates each `<leptos-island>` of the page. `data-hydrated` is set in a task after that:
/// the script calls this function and walks the islands before the next task runs.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
    set_timeout(mark_hydrated, std::time::Duration::ZERO);
}

/// In the browser, after hydration: mark `<body data-hydrated="true">` so tests and scripts can
/// tell a live page from server-rendered HTML.
#[cfg(feature = "hydrate")]
fn mark_hydrated() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
