//! The token lifecycle of a portal credential. Approval creates the credential without a token;
//! the consumer mints it once; rotation mints a new one and keeps the old digest working until
//! the overlap the consumer chose ends (at most 24 h); a second rotation ends the first old
//! token at once; revocation ends both. Only SHA-256 digests are kept.

use serde::{Deserialize, Serialize};

use crate::UnixSeconds;

/// Longest overlap a rotation may keep the old token working for.
pub const MAX_ROTATION_OVERLAP_SECONDS: u64 = 86_400;

/// One token, as its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Lowercase hex SHA-256 of the token.
    pub sha256: String,
    pub minted_at: UnixSeconds,
    /// From the plan's token lifetime, fixed at minting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<UnixSeconds>,
}

/// The tokens of one credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<TokenRecord>,
    /// The token replaced by the last rotation, and when it stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<(TokenRecord, UnixSeconds)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<UnixSeconds>,
}

/// A refused token operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// The token was minted already: rotate to get a new one.
    AlreadyMinted,
    /// Nothing to rotate yet: mint first.
    NotMinted,
    Revoked,
    InvalidOverlap,
}

impl TokenError {
    pub fn code(self) -> &'static str {
        match self {
            TokenError::AlreadyMinted => "token_already_minted",
            TokenError::NotMinted => "token_not_minted",
            TokenError::Revoked => "credential_revoked",
            TokenError::InvalidOverlap => "invalid_overlap",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            TokenError::AlreadyMinted => "The token was created already and is shown only once: rotate the credential to get a new one.",
            TokenError::NotMinted => "The credential has no token yet: create it first.",
            TokenError::Revoked => "The credential is revoked.",
            TokenError::InvalidOverlap => "overlap_seconds must be 0 to 86400 (24 hours).",
        }
    }
}

impl TokenState {
    fn token(sha256: String, now: UnixSeconds, lifetime: Option<u64>) -> TokenRecord {
        let expires_at = lifetime.and_then(|l| i64::try_from(l).ok()).map(|l| now.saturating_add(l));
        TokenRecord { sha256, minted_at: now, expires_at }
    }

    /// The first token.
    pub fn mint(&self, sha256: String, now: UnixSeconds, lifetime: Option<u64>) -> Result<TokenState, TokenError> {
        if self.revoked_at.is_some() {
            return Err(TokenError::Revoked);
        }
        if self.current.is_some() {
            return Err(TokenError::AlreadyMinted);
        }
        Ok(TokenState { current: Some(Self::token(sha256, now, lifetime)), previous: None, revoked_at: None })
    }

    /// A new token; the current one keeps working for `overlap` seconds. Any older token
    /// still in its overlap ends now.
    pub fn rotate(&self, sha256: String, now: UnixSeconds, overlap: u64, lifetime: Option<u64>) -> Result<TokenState, TokenError> {
        if self.revoked_at.is_some() {
            return Err(TokenError::Revoked);
        }
        if overlap > MAX_ROTATION_OVERLAP_SECONDS {
            return Err(TokenError::InvalidOverlap);
        }
        let current = self.current.clone().ok_or(TokenError::NotMinted)?;
        let overlap = i64::try_from(overlap).map_err(|_| TokenError::InvalidOverlap)?;
        let previous = (overlap > 0).then(|| (current, now.saturating_add(overlap)));
        Ok(TokenState { current: Some(Self::token(sha256, now, lifetime)), previous, revoked_at: None })
    }

    pub fn revoke(&self, now: UnixSeconds) -> TokenState {
        TokenState { revoked_at: Some(self.revoked_at.unwrap_or(now)), ..self.clone() }
    }

    /// The digests that may work, each with when it stops (the gateway checks that instant per
    /// request, so an overlap ends on time without another write).
    pub fn usable_digests(&self, now: UnixSeconds) -> Vec<(&str, Option<UnixSeconds>)> {
        if self.revoked_at.is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(current) = &self.current {
            out.push((current.sha256.as_str(), current.expires_at));
        }
        if let Some((previous, until)) = &self.previous {
            let ends = previous.expires_at.map_or(*until, |e| e.min(*until));
            if ends > now {
                out.push((previous.sha256.as_str(), Some(ends)));
            }
        }
        out.retain(|(_, ends)| ends.is_none_or(|e| e > now));
        out
    }
}

/// Where a credential stands, as the admin's list shows it (never its tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    /// Approved; the consumer has not made the token yet.
    NoToken,
    Active,
    /// A rotated-out token still works until its overlap ends.
    Rotating,
    Revoked,
    /// Its token's lifetime (plan, or the admin's expiry) is over.
    Expired,
}

impl CredentialStatus {
    /// An admin-issued key: active until its expiry (a revoked key no longer exists).
    pub fn of_key(expires_at: Option<UnixSeconds>, now: UnixSeconds) -> CredentialStatus {
        if expires_at.is_some_and(|e| e <= now) {
            CredentialStatus::Expired
        } else {
            CredentialStatus::Active
        }
    }
}

impl TokenState {
    /// Where the credential stands at `now`, by the same rule the gateway uses
    /// ([`TokenState::usable_digests`]).
    pub fn status(&self, now: UnixSeconds) -> CredentialStatus {
        if self.revoked_at.is_some() {
            return CredentialStatus::Revoked;
        }
        if self.current.is_none() {
            return CredentialStatus::NoToken;
        }
        match self.usable_digests(now).len() {
            0 => CredentialStatus::Expired,
            1 => CredentialStatus::Active,
            _ => CredentialStatus::Rotating,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_once_rotate_with_overlap_revoke_ends_both() {
        let empty = TokenState::default();
        assert!(empty.usable_digests(0).is_empty(), "approval gives a credential without a token");
        assert_eq!(empty.rotate("b".into(), 0, 60, None).unwrap_err(), TokenError::NotMinted);
        let minted = empty.mint("a".into(), 100, None).unwrap();
        assert_eq!(minted.usable_digests(100), vec![("a", None)]);
        assert_eq!(minted.mint("x".into(), 101, None).unwrap_err(), TokenError::AlreadyMinted);

        let rotated = minted.rotate("b".into(), 200, 3_600, None).unwrap();
        assert_eq!(rotated.usable_digests(200), vec![("b", None), ("a", Some(3_800))]);
        assert_eq!(rotated.usable_digests(3_800), vec![("b", None)], "the overlap ends on time");
        // A second rotation ends the first old token at once.
        let again = rotated.rotate("c".into(), 300, 600, None).unwrap();
        assert_eq!(again.usable_digests(300), vec![("c", None), ("b", Some(900))]);
        // No overlap: the old token ends now.
        assert_eq!(minted.rotate("b".into(), 200, 0, None).unwrap().usable_digests(200), vec![("b", None)]);
        assert_eq!(minted.rotate("b".into(), 200, 86_401, None).unwrap_err(), TokenError::InvalidOverlap);

        let revoked = again.revoke(400);
        assert!(revoked.usable_digests(400).is_empty(), "revoking ends both tokens");
        assert_eq!(revoked.rotate("d".into(), 401, 0, None).unwrap_err(), TokenError::Revoked);
        assert_eq!(revoked.revoke(500).revoked_at, Some(400));
    }

    #[test]
    fn a_plan_lifetime_bounds_each_token_and_the_overlap() {
        let minted = TokenState::default().mint("a".into(), 0, Some(1_000)).unwrap();
        assert_eq!(minted.usable_digests(999), vec![("a", Some(1_000))]);
        assert!(minted.usable_digests(1_000).is_empty());
        let rotated = minted.rotate("b".into(), 900, 3_600, Some(1_000)).unwrap();
        assert_eq!(rotated.usable_digests(900), vec![("b", Some(1_900)), ("a", Some(1_000))], "the old token's own expiry wins");
    }

    #[test]
    fn status_follows_the_lifecycle_and_the_clock() {
        let empty = TokenState::default();
        assert_eq!(empty.status(0), CredentialStatus::NoToken);
        let minted = empty.mint("a".into(), 0, Some(1_000)).unwrap();
        assert_eq!(minted.status(999), CredentialStatus::Active);
        assert_eq!(minted.status(1_000), CredentialStatus::Expired);
        let rotated = minted.rotate("b".into(), 500, 100, Some(1_000)).unwrap();
        assert_eq!(rotated.status(550), CredentialStatus::Rotating);
        assert_eq!(rotated.status(600), CredentialStatus::Active, "the overlap ended");
        assert_eq!(rotated.revoke(550).status(550), CredentialStatus::Revoked);
        assert_eq!(empty.revoke(1).status(1), CredentialStatus::Revoked, "revoked before a token was made");
        assert_eq!(CredentialStatus::of_key(None, 5), CredentialStatus::Active);
        assert_eq!(CredentialStatus::of_key(Some(5), 5), CredentialStatus::Expired);
        assert_eq!(CredentialStatus::of_key(Some(6), 5), CredentialStatus::Active);
    }
}
