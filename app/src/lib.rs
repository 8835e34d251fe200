//! certgate's portal: the admin portal (under `/admin`) and the developer portal (under `/`).
//!
//! Rendered on the server (feature `ssr`) and hydrated in the browser (feature `hydrate`).
//! Server-only code lives in `ssr` and never reaches the wasm build.

pub mod api;
pub mod browser;
#[cfg(feature = "ssr")]
pub mod charts;
pub mod components;
pub mod error;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod ssr_accounts;
#[cfg(feature = "ssr")]
pub mod ssr_admin;
#[cfg(feature = "ssr")]
pub mod ssr_changes;
#[cfg(feature = "ssr")]
pub mod ssr_dashboard;
#[cfg(feature = "ssr")]
pub mod ssr_traffic;
#[cfg(feature = "ssr")]
pub mod ssr_impact;
#[cfg(feature = "ssr")]
pub mod ssr_portal;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use crate::api::{current_user, Me};
use crate::components::Header;
use crate::error::AppError;
use crate::pages::{AccountPage, NotFound, SignInPage};
use crate::routes::*;

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
                <HydrationScript options wasm=assets.wasm.as_str()/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Leptos's `HydrationScripts`, with the wasm at its hashed address: the JS module keeps its
/// name (`/pkg/certgate.js`), which the split loader imports, and the wasm is passed to it.
#[component]
fn HydrationScript(options: LeptosOptions, wasm: &'static str) -> impl IntoView {
    let nonce = leptos::nonce::use_nonce();
    let js = format!("/{}/{}.js", options.site_pkg_dir, options.output_name);
    let script = format!("import({js:?}).then(m => m.default({{module_or_path: {wasm:?}}}).then(() => m.hydrate()));");
    view! {
        <link rel="modulepreload" href=js crossorigin=""/>
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin=""/>
        <script type="module" nonce=nonce>{script}</script>
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
                    // Every page but sign-in and account is a lazy route (routes.rs): its wasm is
                    // fetched with the page. The developer portal renders whole before it is sent
                    // (status 404 included).
                    <Route path=path!("/") view={Lazy::<PortalHomeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/portal/products") view={Lazy::<PortalProductsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/portal/products/:id") view={Lazy::<PortalProductRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/portal/apps") view={Lazy::<PortalAppsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/portal/apps/:id") view={Lazy::<PortalAppRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view=SignInPage/>
                    <Route path=path!("/account") view=AccountPage/>
                    <Route path=path!("/invite") view=crate::pages::InvitePage/>
                    <Route path=path!("/reset-password") view=crate::pages::ResetPasswordPage/>
                    <Route path=path!("/admin") view={Lazy::<AdminHomeRoute>::new()}/>
                    <Route path=path!("/admin/organisations") view={Lazy::<OrganisationsRoute>::new()}/>
                    <Route path=path!("/admin/organisations/:id") view={Lazy::<OrganisationDetailRoute>::new()}/>
                    <Route path=path!("/admin/audit") view={Lazy::<AuditRoute>::new()}/>
                    <Route path=path!("/admin/webhooks") view={Lazy::<WebhooksRoute>::new()}/>
                    <Route path=path!("/admin/apis") view={Lazy::<ApisRoute>::new()}/>
                    <Route path=path!("/admin/apis/:id") view={Lazy::<ApiDetailRoute>::new()}/>
                    <Route path=path!("/admin/certificates") view={Lazy::<CertificatesRoute>::new()}/>
                    <Route path=path!("/admin/certificates/:id") view={Lazy::<CertificateDetailRoute>::new()}/>
                    <Route path=path!("/admin/plans") view={Lazy::<PlansRoute>::new()}/>
                    <Route path=path!("/admin/plans/:id") view={Lazy::<PlanDetailRoute>::new()}/>
                    <Route path=path!("/admin/products") view={Lazy::<ProductsRoute>::new()}/>
                    <Route path=path!("/admin/products/:id") view={Lazy::<ProductDetailRoute>::new()}/>
                    <Route path=path!("/admin/access-requests") view={Lazy::<AccessRequestsRoute>::new()}/>
                    <Route path=path!("/admin/access-requests/:id") view={Lazy::<AccessRequestDetailRoute>::new()}/>
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

/// In the browser: hydrate the server-rendered body. A lazy route's wasm chunk is fetched
/// before its page can hydrate, so hydration is asynchronous (`hydrate_body` would panic);
/// `data-hydrated` is set once it is complete.
#[cfg(feature = "hydrate")]
pub fn hydrate_lazily() {
    wasm_bindgen_futures::spawn_local(async {
        if let Some(body) = document().body() {
            leptos::mount::hydrate_from_async(body, App).await.forget();
            mark_hydrated();
        }
    });
}

/// In the browser, after hydration: mark `<body data-hydrated="true">` so tests and scripts can
/// tell a live page from server-rendered HTML.
#[cfg(feature = "hydrate")]
fn mark_hydrated() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
