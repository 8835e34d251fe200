//! The admin and developer-portal pages as lazy routes: their wasm is split out of the main
//! bundle (`cargo leptos build --split`) and fetched when a page of that area is first shown,
//! so the first load of any page carries the shell, the sign-in page and one area at most.
//!
//! Four split points: the developer portal, and the admin portal in three groups of pages
//! (bench/README.md, "Wasm size", has the sizes). wasm-split puts the code that several split
//! points share into a chunk of its own for each combination of them, and a page fetches every
//! chunk of its split point: more split points make smaller areas but more, smaller shared
//! chunks, which compress worse. Measured: a split point per page made 270 chunks (up to 172
//! fetches for one page); seven groups made 90 files, 38 to 52 fetches per page, and saved at
//! most 15 KB on the heaviest first load (the portal's apps got heavier). Each route is a unit
//! `LazyRoute`: the pages load their own data, so `data()` has nothing to start early. The
//! server renders in place (nothing is split there).

use leptos::prelude::*;
use leptos_router::LazyRoute;

use crate::pages::{
    AccessRequestDetailPage, AccessRequestsPage, AdminHome, ApiDetailPage, ApisPage, AuditPage, CertificateDetailPage, CertificatesPage,
    OrganisationDetailPage, OrganisationsPage, PlanDetailPage, PlansPage, ProductDetailPage, ProductsPage, WebhooksPage,
};
use crate::pages::{PortalAppPage, PortalAppsPage, PortalHomePage, PortalProductPage, PortalProductsPage};

/// `lazy_area!(area_fn / __preload_area_fn, PageEnum { Route => Page, ... })`: one `#[lazy]`
/// function rendering any page of the area (the split point), and for each page a route type
/// whose view calls it. `preload` must fetch the chunk: the router awaits it before the view, so
/// at hydration the view is ready at once and hydrates the server's HTML; without it the view
/// is still pending there and the page is rendered a second time below the first.
macro_rules! lazy_area {
    ($(#[$doc:meta])* $area:ident / $preload:ident, $pages:ident { $($route:ident => $page:ident),+ $(,)? }) => {
        /// The pages of one area, as the argument of its split point (named after the pages).
        #[derive(Clone, Copy, Debug)]
        #[allow(clippy::enum_variant_names)]
        enum $pages {
            $($page),+
        }

        $(#[$doc])*
        #[leptos::lazy]
        fn $area(page: $pages) -> AnyView {
            match page {
                $($pages::$page => view! { <$page/> }.into_any()),+
            }
        }

        $(
            #[doc = concat!("The lazily loaded route of [`", stringify!($page), "`].")]
            pub struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    $area($pages::$page).await
                }

                async fn preload() {
                    // `#[lazy]` defines the preload function in the browser build only.
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )+
    };
}

lazy_area! {
    /// The admin start page, the APIs and the certificate store (split point: its chunk is
    /// fetched with the first of these pages).
    admin_certificates_area / __preload_admin_certificates_area, AdminCertificates {
        AdminHomeRoute => AdminHome,
        ApisRoute => ApisPage,
        ApiDetailRoute => ApiDetailPage,
        CertificatesRoute => CertificatesPage,
        CertificateDetailRoute => CertificateDetailPage,
    }
}

lazy_area! {
    /// The admin's portal catalogue: products, plans and the queue of access requests.
    admin_catalogue_area / __preload_admin_catalogue_area, AdminCatalogue {
        PlansRoute => PlansPage,
        PlanDetailRoute => PlanDetailPage,
        ProductsRoute => ProductsPage,
        ProductDetailRoute => ProductDetailPage,
        AccessRequestsRoute => AccessRequestsPage,
        AccessRequestDetailRoute => AccessRequestDetailPage,
    }
}

lazy_area! {
    /// The admin's organisations, the audit log and webhooks.
    admin_organisations_area / __preload_admin_organisations_area, AdminOrganisations {
        OrganisationsRoute => OrganisationsPage,
        OrganisationDetailRoute => OrganisationDetailPage,
        AuditRoute => AuditPage,
        WebhooksRoute => WebhooksPage,
    }
}

lazy_area! {
    /// The developer portal (split point: its chunk is fetched with the first consumer page).
    portal_area / __preload_portal_area, Portal {
        PortalHomeRoute => PortalHomePage,
        PortalProductsRoute => PortalProductsPage,
        PortalProductRoute => PortalProductPage,
        PortalAppsRoute => PortalAppsPage,
        PortalAppRoute => PortalAppPage,
    }
}
