//! Pure decision logic shared by the services and the gateway.
//!
//! Nothing in this crate performs I/O, spawns tasks or reads the clock: every function that
//! depends on time takes `now` (Unix seconds) as a parameter, so each rule is unit-tested
//! exactly and in milliseconds.

pub mod gateway;
pub mod password;
pub mod pki;
pub mod portal;
pub mod problem;
pub mod session;
pub mod throttle;
pub mod traffic;

/// Seconds since the Unix epoch. Every `now` in this crate is one of these.
pub type UnixSeconds = i64;
