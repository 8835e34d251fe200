//! One module per screen.

mod access_requests;
mod account;
mod api_detail;
mod apis;
mod audit;
mod certificate_detail;
mod certificates;
mod change_preview;
mod admin;
mod links;
mod not_found;
mod organisation_detail;
mod organisations;
mod plans;
mod product_detail;
mod products;
pub mod portal;
mod sign_in;

pub use access_requests::{AccessRequestDetailPage, AccessRequestsPage};
pub use account::AccountPage;
pub use admin::AdminHome;
pub use api_detail::ApiDetailPage;
pub use apis::ApisPage;
pub use audit::AuditPage;
pub use certificate_detail::CertificateDetailPage;
pub use certificates::CertificatesPage;
pub use links::{InvitePage, ResetPasswordPage};
pub use not_found::NotFound;
pub use organisation_detail::OrganisationDetailPage;
pub use organisations::OrganisationsPage;
pub use plans::{PlanDetailPage, PlansPage};
pub use product_detail::ProductDetailPage;
pub use products::ProductsPage;
pub use portal::{PortalAppPage, PortalAppsPage, PortalHomePage, PortalProductPage, PortalProductsPage};
pub use sign_in::SignInPage;
