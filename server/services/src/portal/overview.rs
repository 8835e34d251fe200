//! The admin's read views over the portal: every subscription, and every credential of both
//! origins (the keys the admin issued and the portal's) with where each stands. What these
//! return has no token and no digest in it: a view is built field by field from the records.

use std::ops::Bound;

use certgate_core::portal::credential::CredentialStatus;
use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::apps::AppRecord;
use super::credentials::CredentialRecord;
use super::requests::SubscriptionRecord;
use super::Actor;
use crate::store::codec;
use crate::store::{tables, Store};
use crate::{clock, ServiceError};

/// Which subscriptions to list; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionFilter {
    pub organisation: Option<String>,
    pub product: Option<String>,
    pub app: Option<String>,
}

impl SubscriptionFilter {
    pub fn matches(&self, s: &SubscriptionRecord) -> bool {
        self.organisation.as_deref().is_none_or(|o| o == s.organisation)
            && self.product.as_deref().is_none_or(|p| p == s.product)
            && self.app.as_deref().is_none_or(|a| a == s.app)
    }
}

/// Who issued a credential. Lists show the admin's keys first (the order here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialOrigin {
    /// A key the admin made (`/api/v1/keys`).
    Admin,
    /// A portal subscription's credential.
    Portal,
}

/// Which credentials to list; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialFilter {
    pub origin: Option<CredentialOrigin>,
    /// Portal credentials of this organisation (admin keys belong to none).
    pub organisation: Option<String>,
}

/// The portal side of a portal credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalCredentialLink {
    pub subscription: String,
    pub app: String,
    pub organisation: String,
    pub product: String,
    pub plan: String,
}

/// One credential as the admin's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSummary {
    pub id: String,
    pub origin: CredentialOrigin,
    /// A portal credential: "<app name> / <product name>". Admin keys have no name.
    pub label: Option<String>,
    pub status: CredentialStatus,
    pub created_at: UnixSeconds,
    /// Admin keys: the APIs granted. Portal credentials derive theirs from the product.
    pub apis: Vec<String>,
    pub portal: Option<PortalCredentialLink>,
}

#[derive(Clone)]
pub struct Overview {
    store: Store,
}

fn name_of(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<String>, ServiceError> {
    Ok(crate::products::load(table, id)?.map(|p| p.spec.name))
}

impl Overview {
    pub fn new(store: Store) -> Overview {
        Overview { store }
    }

    /// Up to `limit` subscriptions matching `filter` after id `after`, by id (the admin only).
    /// Paged in the store: a page reads on from `after` only until it is full.
    pub async fn subscriptions(
        &self,
        actor: &Actor,
        filter: SubscriptionFilter,
        after: Option<String>,
        limit: usize,
    ) -> Result<Paged<SubscriptionRecord>, ServiceError> {
        actor.require_admin()?;
        self.store
            .read(move |txn| {
                let mut page = Paged::new(limit);
                for entry in txn.open_table(tables::SUBSCRIPTIONS)?.range::<&str>(after_id(after.as_deref()))? {
                    let (k, v) = entry?;
                    let record: SubscriptionRecord = codec::decode("subscriptions", k.value(), v.value())?;
                    if filter.matches(&record) && !page.push(record) {
                        break;
                    }
                }
                Ok(page)
            })
            .await
    }

    /// Up to `limit` credentials of both origins matching `filter`, after `after` (the admin's
    /// keys first, then the portal's, each by id), with their status at this instant (the
    /// admin only). Paged in the store like [`Overview::subscriptions`].
    pub async fn credentials(
        &self,
        actor: &Actor,
        filter: CredentialFilter,
        after: Option<(CredentialOrigin, String)>,
        limit: usize,
    ) -> Result<Paged<CredentialSummary>, ServiceError> {
        actor.require_admin()?;
        let now = clock::now();
        let wants = |origin: CredentialOrigin| filter.origin.is_none_or(|o| o == origin);
        // Where each origin's range starts: after the cursor's id in its own origin, from the
        // start in a later one, not at all in an earlier one.
        let from = |origin: CredentialOrigin| match &after {
            None => Some(None),
            Some((o, id)) if *o == origin => Some(Some(id.clone())),
            Some((o, _)) if *o < origin => Some(None),
            Some(_) => None,
        };
        let (keys_from, portal_from) = (from(CredentialOrigin::Admin), from(CredentialOrigin::Portal));
        let (keys_wanted, portal_wanted) = (wants(CredentialOrigin::Admin) && filter.organisation.is_none(), wants(CredentialOrigin::Portal));
        self.store
            .read(move |txn| {
                let mut page = Paged::new(limit);
                if let (Some(start), true) = (keys_from, keys_wanted) {
                    for item in txn.open_table(tables::KEYS)?.range::<&str>(after_id(start.as_deref()))? {
                        let (k, v) = item?;
                        let key: crate::keys::KeyRecord = codec::decode("keys", k.value(), v.value())?;
                        let summary = CredentialSummary {
                            id: key.id,
                            origin: CredentialOrigin::Admin,
                            label: None,
                            status: CredentialStatus::of_key(key.spec.expires_at, now),
                            created_at: key.created_at,
                            apis: key.spec.apis,
                            portal: None,
                        };
                        if !page.push(summary) {
                            return Ok(page);
                        }
                    }
                }
                let (Some(start), true) = (portal_from, portal_wanted) else { return Ok(page) };
                let (subscriptions, apps, products) =
                    (txn.open_table(tables::SUBSCRIPTIONS)?, txn.open_table(tables::APPS)?, txn.open_table(tables::PRODUCTS)?);
                for entry in txn.open_table(tables::CREDENTIALS)?.range::<&str>(after_id(start.as_deref()))? {
                    let (k, v) = entry?;
                    let credential: CredentialRecord = codec::decode("credentials", k.value(), v.value())?;
                    // App deletion removes both: a credential without its subscription is a
                    // broken store (`certgate check` reports it), and one entry must not hide
                    // every other credential from the admin.
                    let Some(s) = subscriptions.get(credential.subscription.as_str())? else {
                        tracing::warn!(credential = %credential.id, "a portal credential has no subscription");
                        continue;
                    };
                    let subscription: SubscriptionRecord = codec::decode("subscriptions", &credential.subscription, s.value())?;
                    if filter.organisation.as_deref().is_some_and(|o| o != subscription.organisation) {
                        continue;
                    }
                    if page.is_full() {
                        page.more = true;
                        break;
                    }
                    let app: Option<AppRecord> = match apps.get(subscription.app.as_str())? {
                        Some(a) => Some(codec::decode("apps", &subscription.app, a.value())?),
                        None => None,
                    };
                    let label = match (app, name_of(&products, &subscription.product)?) {
                        (Some(app), Some(product)) => Some(format!("{} / {product}", app.name)),
                        _ => None,
                    };
                    page.push(CredentialSummary {
                        id: credential.id,
                        origin: CredentialOrigin::Portal,
                        label,
                        status: credential.tokens.status(now),
                        created_at: credential.created_at,
                        apis: Vec::new(),
                        portal: Some(PortalCredentialLink {
                            subscription: subscription.id,
                            app: subscription.app,
                            organisation: subscription.organisation,
                            product: subscription.product,
                            plan: subscription.plan,
                        }),
                    });
                }
                Ok(page)
            })
            .await
    }
}

/// The ids after `after` (all of them without one).
fn after_id(after: Option<&str>) -> (Bound<&str>, Bound<&str>) {
    (after.map_or(Bound::Unbounded, Bound::Excluded), Bound::Unbounded)
}

/// One page read from the store: at most `limit` items, and whether a further match exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub more: bool,
    limit: usize,
}

impl<T> Paged<T> {
    pub(crate) fn new(limit: usize) -> Paged<T> {
        Paged { items: Vec::new(), more: false, limit }
    }

    fn is_full(&self) -> bool {
        self.items.len() >= self.limit
    }

    /// Adds a match; on a full page, notes that more follow instead and answers `false`
    /// (stop reading).
    pub(crate) fn push(&mut self, item: T) -> bool {
        if self.is_full() {
            self.more = true;
            return false;
        }
        self.items.push(item);
        true
    }
}
