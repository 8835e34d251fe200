//! One module per screen.

mod account;
mod api_detail;
mod apis;
mod certificate_detail;
mod certificates;
mod admin;
mod home;
mod not_found;
mod organisations;
pub mod portal;
mod sign_in;

pub use account::AccountPage;
pub use admin::AdminHome;
pub use api_detail::ApiDetailPage;
pub use apis::ApisPage;
pub use certificate_detail::CertificateDetailPage;
pub use certificates::CertificatesPage;
pub use home::DevHome;
pub use not_found::NotFound;
pub use organisations::OrganisationsPage;
pub use portal::{PortalAppPage, PortalAppsPage, PortalHomePage, PortalProductPage, PortalProductsPage};
pub use sign_in::SignInPage;
