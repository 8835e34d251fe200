//! The developer portal's consumer side: apps, access requests, subscriptions and their
//! credentials. Every call carries who acts ([`Actor`]); a consumer asking for another
//! organisation's object gets `NotFound`, exactly like an id that does not exist.
//!
//! Credentials store no copy of what they grant: the gateway's view derives their APIs,
//! certificates, binding and limits from the product, the plan and the organisation's or the
//! subscription's certificates (`grants`), so every portal write republishes the view.

mod actor;
pub mod allow_list;
pub mod apps;
pub mod catalogue;
pub mod credentials;
pub mod grants;
pub mod records;
mod lifecycle;
pub mod overview;
pub mod requests;
pub mod retirement;
pub mod subscriptions;

pub use actor::Actor;

#[cfg(test)]
mod reads_tests;
#[cfg(test)]
mod tests;
