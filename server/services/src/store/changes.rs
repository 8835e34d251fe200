//! What a write touched that the gateway's view derives from: a change set. The functions that
//! write the records a credential's grant is derived from (subscriptions, credentials, an
//! organisation's certificate links and suspension, products, plans) record what they touched
//! here, so the view change follows from the data written, not from a scope picked by hand at
//! each call site. The store's writer takes the set after the write's closure, computes the
//! view change from it inside the transaction, and publishes it after the commit.
//!
//! Recording is per writer thread: every write runs on the store's single writer thread, which
//! clears the set before each write and takes it after. The `&WriteTransaction` argument keeps
//! recording to code that runs inside a write.

use std::cell::RefCell;
use std::collections::BTreeSet;

use redb::WriteTransaction;

/// The objects a write touched, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// API definitions changed: the snapshot is rebuilt (and the products containing them are
    /// touched, their grants may change).
    pub apis: bool,
    /// Subscriptions (and so their credentials) created, changed or ended.
    pub subscriptions: BTreeSet<String>,
    /// Organisations whose certificate links or suspension changed: their subscriptions.
    pub organisations: BTreeSet<String>,
    /// Products changed (APIs, mode, binding): their subscriptions.
    pub products: BTreeSet<String>,
    /// Plans changed (limits, token lifetime): the subscriptions on them.
    pub plans: BTreeSet<String>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        !self.apis && self.subscriptions.is_empty() && self.organisations.is_empty() && self.products.is_empty() && self.plans.is_empty()
    }
}

/// One touched object.
pub enum Touched<'a> {
    Apis,
    Subscription(&'a str),
    Organisation(&'a str),
    Product(&'a str),
    Plan(&'a str),
}

thread_local! {
    static RECORDED: RefCell<ChangeSet> = RefCell::new(ChangeSet::default());
}

/// Records that the write `_txn` touched `what`.
pub fn touched(_txn: &WriteTransaction, what: Touched<'_>) {
    RECORDED.with(|set| {
        let mut set = set.borrow_mut();
        match what {
            Touched::Apis => {
                set.apis = true;
                true
            }
            Touched::Subscription(id) => set.subscriptions.insert(id.to_string()),
            Touched::Organisation(id) => set.organisations.insert(id.to_string()),
            Touched::Product(id) => set.products.insert(id.to_string()),
            Touched::Plan(id) => set.plans.insert(id.to_string()),
        };
    });
}

/// Clears the set before a write (the writer thread).
pub(crate) fn start() {
    RECORDED.with(|set| *set.borrow_mut() = ChangeSet::default());
}

/// Takes what the write recorded (the writer thread, after the write's closure).
pub(crate) fn take() -> ChangeSet {
    RECORDED.with(|set| std::mem::take(&mut *set.borrow_mut()))
}

/// What a write changes in what credentials grant: the answer of a `?dry_run=true`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangePreview {
    /// The credentials whose grant changes.
    pub credentials: Vec<CredentialChange>,
    /// Certificates joining or leaving each API's effective allow list.
    pub allow_lists: Vec<AllowListChange>,
    /// How many live credentials stop working: they lose their last certificate on an mTLS
    /// product, or stop granting anything.
    pub credentials_stop_working: usize,
}

/// One credential's grant before and after the write (`None`: it grants nothing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CredentialChange {
    pub credential: String,
    pub subscription: String,
    pub app: String,
    pub organisation: String,
    pub product: String,
    pub before: Option<GrantSummary>,
    pub after: Option<GrantSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GrantSummary {
    pub apis: Vec<String>,
    /// The certificates it works with (its allow-list contribution, and its binding if bound).
    pub certificates: Vec<String>,
    pub bound: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AllowListChange {
    pub api: String,
    pub joining: Vec<String>,
    pub leaving: Vec<String>,
}
