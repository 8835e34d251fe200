//! The services layer's one error enum. The server maps it to HTTP in exactly one place.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input: nothing was changed. `code` is stable, `message` is for people.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The request conflicts with stored state (a duplicate, a reference still in use).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Wrong email or password: one answer for both, so accounts cannot be enumerated.
    /// Authenticated, but not allowed to do this (a consumer calling an admin operation).
    #[error("{message}")]
    Forbidden { message: String },
    #[error("wrong email or password")]
    BadCredentials,
    #[error("too many attempts (sign-in, sign-up or link redemption)")]
    Throttled { retry_after_secs: i64 },
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid { code, message: message.into() }
    }
}

// redb's errors reach services through the store; `?` on them inside a transaction closure
// lands here as a store I/O error.
macro_rules! store_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ServiceError {
            fn from(e: $t) -> Self { ServiceError::Store(StoreError::from(e)) }
        }
    )*};
}
store_error_from!(redb::TableError, redb::StorageError, redb::TransactionError, redb::CommitError);
