//! A consumer's subscriptions: listing them (with their pending plan change or renewal), and
//! the requests that change a live one (`lifecycle`). Approval, rejection and withdrawal go
//! through `AccessRequests` like any request.

use certgate_core::portal::request::RequestKind;
use redb::ReadableTable;

use super::lifecycle;
use super::requests::{usable_certificate, AccessRequestRecord, SubscriptionRecord};
use super::Actor;
use crate::store::{codec, tables, PublishScope, Store};
use crate::{clock, ServiceError};

/// A subscription with its pending plan change and renewal requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionEntry {
    pub subscription: SubscriptionRecord,
    pub pending: Vec<AccessRequestRecord>,
}

/// A subscription with what its credential grants at the time it was read.
#[derive(Debug, Clone)]
pub struct SubscriptionGrantNow {
    pub subscription: SubscriptionRecord,
    pub credential: String,
    pub grant: Option<certgate_core::portal::derive::CredentialGrant>,
    pub status: certgate_core::portal::credential::CredentialStatus,
}

#[derive(Clone)]
pub struct Subscriptions {
    store: Store,
}

impl Subscriptions {
    pub fn new(store: Store) -> Subscriptions {
        Subscriptions { store }
    }

    /// The subscriptions of an app the actor may see, oldest first.
    pub async fn of_app(&self, actor: &Actor, app: &str) -> Result<Vec<SubscriptionEntry>, ServiceError> {
        let (actor, app) = (actor.clone(), app.to_string());
        self.store
            .read(move |txn| {
                super::apps::load_visible(&txn.open_table(tables::APPS)?, &app, &actor)?;
                let mut out = Vec::new();
                let subscriptions = txn.open_table(tables::SUBSCRIPTIONS)?;
                for id in super::records::subscriptions_of(&txn.open_table(tables::SUBSCRIPTIONS_BY)?, super::records::SubscriptionsOf::App(&app))? {
                    if let Some(v) = subscriptions.get(id.as_str())? {
                        let subscription: SubscriptionRecord = codec::decode("subscriptions", &id, v.value())?;
                        out.push(SubscriptionEntry { subscription, pending: Vec::new() });
                    }
                }
                for (target, request) in pending_changes(&txn.open_table(tables::ACCESS_REQUESTS_BY)?, &txn.open_table(tables::ACCESS_REQUESTS)?, &app)? {
                    if let Some(entry) = out.iter_mut().find(|e| e.subscription.id == target) {
                        entry.pending.push(request);
                    }
                }
                out.sort_by(|a, b| a.subscription.created_at.cmp(&b.subscription.created_at).then_with(|| a.subscription.id.cmp(&b.subscription.id)));
                Ok(out)
            })
            .await
    }

    /// An API's effective allow list with the source of each entry, one page (admin only).
    pub async fn effective_allow_list(&self, actor: &Actor, api: &str, skip: usize, take: usize) -> Result<super::allow_list::AllowListPage, ServiceError> {
        super::allow_list::effective_allow_list(&self.store, actor, api, skip, take).await
    }

    /// What each of these subscriptions' credentials grants now and its status, derived as the
    /// gateway's view derives it, in one read (admin only). Unknown ids are left out; the grant
    /// is `None` when the credential grants nothing (revoked, suspended organisation, JWT product).
    pub async fn grants(&self, actor: &Actor, ids: Vec<String>) -> Result<Vec<SubscriptionGrantNow>, ServiceError> {
        actor.require_admin()?;
        self.store
            .read(move |txn| {
                let now = clock::now();
                let mut deriver = super::grants::Deriver::new(txn, now)?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(derived) = deriver.subscription(&id)? {
                        let status = derived.credential.tokens.status(now);
                        out.push(SubscriptionGrantNow { subscription: derived.subscription, credential: derived.credential.id, grant: derived.grant, status });
                    }
                }
                Ok(out)
            })
            .await
    }

    /// One subscription the actor may see.
    pub async fn get(&self, actor: &Actor, id: &str) -> Result<SubscriptionRecord, ServiceError> {
        let (actor, id) = (actor.clone(), id.to_string());
        self.store
            .read(move |txn| lifecycle::visible_subscription(&txn.open_table(tables::SUBSCRIPTIONS)?, &txn.open_table(tables::APPS)?, &id, &actor))
            .await
    }

    /// A consumer asks for another plan (approved like a request; at once when the target plan
    /// auto-approves). Rate and quota keep counting: they belong to the subscription.
    pub async fn change_plan(&self, actor: &Actor, subscription: &str, plan: &str) -> Result<AccessRequestRecord, ServiceError> {
        let (actor, subscription, plan) = (actor.clone(), subscription.to_string(), plan.to_string());
        self.store
            .write_published(PublishScope::Touched, move |txn| lifecycle::request_plan_change(txn, &actor, &subscription, &plan, clock::now()))
            .await
    }

    /// A consumer submits a replacement certificate for a Self-Serve subscription (PEM or DER),
    /// checked exactly like a Self-Serve request's before anything is stored.
    pub async fn renew(&self, actor: &Actor, subscription: &str, certificate: &[u8]) -> Result<AccessRequestRecord, ServiceError> {
        let now = clock::now();
        let (der, facts) = usable_certificate(certificate, now)?;
        let (actor, subscription) = (actor.clone(), subscription.to_string());
        self.store
            .write_published(PublishScope::Touched, move |txn| lifecycle::request_renewal(txn, &actor, &subscription, der, facts.id, now))
            .await
    }

    /// Retires one of the subscription's certificates now: refused from the next request.
    pub async fn retire_certificate(&self, actor: &Actor, subscription: &str, certificate: &str) -> Result<SubscriptionEntry, ServiceError> {
        let (actor, subscription, certificate) = (actor.clone(), subscription.to_string(), certificate.to_string());
        self.store
            .write_published(PublishScope::Touched, move |txn| {
                let subscription = lifecycle::retire_certificate(txn, &actor, &subscription, &certificate)?;
                let pending = pending_changes(&txn.open_table(tables::ACCESS_REQUESTS_BY)?, &txn.open_table(tables::ACCESS_REQUESTS)?, &subscription.app)?
                    .into_iter()
                    .filter(|(target, _)| *target == subscription.id)
                    .map(|(_, request)| request)
                    .collect();
                Ok(SubscriptionEntry { subscription, pending })
            })
            .await
    }
}

/// The app's pending plan changes and renewals, with the subscription each would change.
fn pending_changes(
    index: &impl ReadableTable<&'static str, &'static [u8]>,
    requests: &impl ReadableTable<&'static str, &'static [u8]>,
    app: &str,
) -> Result<Vec<(String, AccessRequestRecord)>, ServiceError> {
    let mut out = Vec::new();
    super::records::requests_of(index, requests, super::records::RequestsOf::App(app), None, |request| {
        if request.state.is_pending() {
            if let RequestKind::ChangePlan { subscription, .. } | RequestKind::Renew { subscription, .. } = &request.kind {
                out.push((subscription.clone(), request.clone()));
            }
        }
        Ok(true)
    })?;
    Ok(out)
}
