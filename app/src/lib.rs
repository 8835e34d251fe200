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
#[cfg(feature = "hydrate")]
mod form_memory;
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
use leptos_router::{path, SsrMode};

use crate::api::{current_user, Me};
use crate::components::Header;
use crate::error::AppError;
use crate::pages::*;

/// Where the page loads the wasm, its JS glue and the stylesheet: the server names them by
/// content hash so that browsers may keep them for a year (server/src/assets.rs).
#[derive(Clone, Debug)]
pub struct SiteAssets {
    pub wasm: String,
    pub script: String,
    pub stylesheet: String,
}

/// The HTML document around the app (server side only).
pub fn shell(assets: &'static SiteAssets) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href=assets.stylesheet.as_str()/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <IslandScripts assets/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Loads the wasm from its hashed address and hydrates the page's islands (Leptos's own
/// `HydrationScripts` names the wasm by its plain name only, which cannot be cached for long).
/// Each island's wasm export is called with its element, outermost first: an island inside
/// another's children first runs that children's `$$on_hydrate` (set by the outer island), so
/// that it sees the context the outer island provides. The module script runs after the whole
/// streamed document is parsed, so every island is in the DOM by then.
#[component]
fn IslandScripts(assets: &'static SiteAssets) -> impl IntoView {
    // Server-side: only islands are hydrated, so the rest of the page is rendered without
    // hydration data (what Leptos's `HydrationScripts islands=true` does too).
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let nonce = leptos::nonce::use_nonce();
    let script = format!("({ISLAND_LOADER})({:?}, {:?});", assets.script, assets.wasm);
    view! {
        <link rel="modulepreload" href=assets.script.as_str() crossorigin=""/>
        <link rel="preload" href=assets.wasm.as_str() r#as="fetch" r#type="application/wasm" crossorigin=""/>
        <script type="module" nonce=nonce>{script}</script>
    }
}

/// The loader `IslandScripts` runs: `(glue, wasm)`.
const ISLAND_LOADER: &str = r#"async (glue, wasm) => {
  const exports = await import(glue);
  await exports.default({ module_or_path: wasm });
  exports.hydrate();
  const visit = async (parent, onChildren) => {
    for (const element of parent.children) {
      if (element.localName === "leptos-island") {
        const island = exports[element.dataset.component];
        if (!island) {
          console.warn(`no wasm export for the island ${element.dataset.component}`);
        } else {
          if (onChildren) onChildren();
          await island(element);
        }
        await visit(element, onChildren);
      } else if (element.localName === "leptos-children") {
        await visit(element, element.$$on_hydrate);
      } else {
        await visit(element, onChildren);
      }
    }
  };
  await visit(document.body, undefined);
  // Tests and scripts tell a live page from server-rendered HTML by this mark.
  document.body.setAttribute("data-hydrated", "true");
}"#;

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

/// In the browser (islands mode), called by the loader (`IslandScripts`) before it hydrates
/// the islands: the reactive root, and the forms' memory of what was typed.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
    form_memory::install();
}
