//! What a write does to live credentials and allow lists, in words, shown before the admin
//! confirms it (product changes, certificate links).

use serde::{Deserialize, Serialize};

/// A dry run's change set in plain words, with names instead of ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeWords {
    /// One sentence per group of credentials that change alike, e.g. "3 credentials of Acme
    /// Corp (…) will only accept these 2 certificates: …".
    pub credentials: Vec<String>,
    /// One sentence per API whose effective allow list changes.
    pub allow_lists: Vec<String>,
    /// How many live credentials stop working.
    pub stop_working: usize,
    /// Said when some stop working.
    pub warning: Option<String>,
}

impl ChangeWords {
    /// Nothing live changes: the write needs no confirmation.
    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty() && self.allow_lists.is_empty() && self.stop_working == 0
    }
}

/// The answer of a write that is previewed first. Not `applied`: nothing changed, `change`
/// says what applying would do, and `confirm` goes back with the same form to apply exactly
/// that change (a change that differs by then is previewed again instead of applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previewed<T> {
    pub applied: bool,
    pub value: T,
    pub change: ChangeWords,
    pub confirm: Option<String>,
    /// Why the preview is shown again, if it is.
    pub note: Option<String>,
    /// What the change is about, where a page has several forms for it (the organisation of
    /// a certificate link).
    pub target: Option<String>,
}

/// A previewed change waiting for the admin's confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    pub change: ChangeWords,
    pub confirm: String,
    pub note: Option<String>,
    pub target: Option<String>,
}

impl<T> Previewed<T> {
    /// The change to confirm, when it was not applied.
    pub fn pending(&self) -> Option<PendingChange> {
        if self.applied {
            return None;
        }
        Some(PendingChange { change: self.change.clone(), confirm: self.confirm.clone()?, note: self.note.clone(), target: self.target.clone() })
    }
}
