//! The developer portal's model, pure (DESIGN.md "Portal model"): products and plans as the
//! admin writes them, access requests and their states, the token lifecycle of a portal
//! credential, and the derivation of what a credential grants from the product, the plan and
//! the certificates of its organisation (Managed) or subscription (Self-Serve).
//!
//! A portal credential stores none of what it grants: the gateway's view derives its APIs,
//! certificates, binding and limits at write time with the functions here, so every change to
//! a product, a plan or an organisation's certificates is reflected by deriving again.

pub mod credential;
pub mod derive;
pub mod plan;
pub mod product;
pub mod request;
