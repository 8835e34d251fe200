//! certgate's server-side services: the redb store and the portal's account logic.
//!
//! Every write goes through the store's single writer thread and is acknowledged only after
//! its transaction committed durably. Reads run on tokio's blocking pool, never on the async
//! workers.

pub mod account_links;
pub mod accounts;
pub mod consumers;
pub mod dashboard;
pub mod admin_tokens;
pub mod apis;
pub mod audit;
pub mod certificates;
pub mod clock;
pub mod error;
pub mod gateway_view;
pub mod gauges;
pub mod impact;
pub mod ids;
pub mod keys;
pub mod members;
pub mod organisations;
pub mod plans;
pub mod portal;
pub mod products;
mod references;
pub mod sessions;
pub mod store;
#[cfg(test)]
mod test_world;
pub mod traffic;
pub mod usage;
pub mod webhooks;

pub use error::ServiceError;
