//! The admin's read views over the portal: every subscription, and every credential of both
//! origins (the keys the admin issued and the portal's) with where each stands. What these
//! return has no token and no digest in it: a view is built field by field from the records.

use certgate_core::portal::credential::CredentialStatus;
use certgate_core::UnixSeconds;
use redb::ReadableTable;

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

/// Who issued a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl CredentialFilter {
    pub fn matches(&self, c: &CredentialSummary) -> bool {
        self.origin.is_none_or(|o| o == c.origin)
            && self.organisation.as_deref().is_none_or(|org| c.portal.as_ref().is_some_and(|p| p.organisation == org))
    }
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

    /// Every subscription matching `filter` (the admin only).
    pub async fn subscriptions(&self, actor: &Actor, filter: SubscriptionFilter) -> Result<Vec<SubscriptionRecord>, ServiceError> {
        actor.require_admin()?;
        self.store
            .read(move |txn| {
                let mut out = Vec::new();
                for entry in txn.open_table(tables::SUBSCRIPTIONS)?.iter()? {
                    let (k, v) = entry?;
                    let record: SubscriptionRecord = codec::decode("subscriptions", k.value(), v.value())?;
                    if filter.matches(&record) {
                        out.push(record);
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Every credential of both origins matching `filter` (the admin only), with its status at
    /// this instant.
    pub async fn credentials(&self, actor: &Actor, filter: CredentialFilter) -> Result<Vec<CredentialSummary>, ServiceError> {
        actor.require_admin()?;
        let now = clock::now();
        self.store
            .read(move |txn| {
                let mut out = Vec::new();
                for key in crate::keys::all(&txn.open_table(tables::KEYS)?)? {
                    out.push(CredentialSummary {
                        id: key.id,
                        origin: CredentialOrigin::Admin,
                        label: None,
                        status: CredentialStatus::of_key(key.spec.expires_at, now),
                        created_at: key.created_at,
                        apis: key.spec.apis,
                        portal: None,
                    });
                }
                let (subscriptions, apps, products) =
                    (txn.open_table(tables::SUBSCRIPTIONS)?, txn.open_table(tables::APPS)?, txn.open_table(tables::PRODUCTS)?);
                for entry in txn.open_table(tables::CREDENTIALS)?.iter()? {
                    let (k, v) = entry?;
                    let credential: CredentialRecord = codec::decode("credentials", k.value(), v.value())?;
                    // App deletion removes both: a credential without its subscription is a
                    // broken store (`certgate check` reports it), and one list entry must not
                    // hide every other credential from the admin.
                    let Some(s) = subscriptions.get(credential.subscription.as_str())? else {
                        tracing::warn!(credential = %credential.id, "a portal credential has no subscription");
                        continue;
                    };
                    let subscription: SubscriptionRecord = codec::decode("subscriptions", &credential.subscription, s.value())?;
                    let app: Option<AppRecord> = match apps.get(subscription.app.as_str())? {
                        Some(a) => Some(codec::decode("apps", &subscription.app, a.value())?),
                        None => None,
                    };
                    let label = match (app, name_of(&products, &subscription.product)?) {
                        (Some(app), Some(product)) => Some(format!("{} / {product}", app.name)),
                        _ => None,
                    };
                    out.push(CredentialSummary {
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
                out.retain(|c| filter.matches(c));
                Ok(out)
            })
            .await
    }
}
