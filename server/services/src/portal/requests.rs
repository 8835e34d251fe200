//! Access requests and the subscriptions their approval creates. A request asks for one product
//! with one plan for one app; approving it creates the subscription (app x product, the plan a
//! field) and its credential without a token. An app holds at most one pending request or live
//! subscription per product (`APP_PRODUCT_CLAIMS`).

use std::collections::BTreeMap;

use certgate_core::pki::{self, CertificateFacts};
use certgate_core::portal::derive::{fits_credential, SubscriptionCertificate};
use certgate_core::portal::product::{CertificateMode, ProductAuth};
use certgate_core::portal::request::{self as states, RequestKind, RequestState, TransitionError};
use certgate_core::portal::credential::TokenState;
use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::credentials::CredentialRecord;
use super::overview::Paged;
use super::records::{self, SubscriptionsOf};
use super::{apps, lifecycle, Actor};
use crate::certificates::{CertificatePortalMeta, CertificateRecord};
use crate::store::codec::{self, Versioned};
use crate::store::{tables, PublishScope, Store};
use crate::{audit, clock, ids, references, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequestRecord {
    pub id: String,
    pub app: String,
    pub organisation: String,
    #[serde(flatten)]
    pub kind: RequestKind,
    #[serde(flatten)]
    pub state: RequestState,
    /// Self-Serve: the submitted certificate (DER, base64), registered only on approval.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "optional_base64")]
    pub certificate_der: Option<Vec<u8>>,
    pub requested_by: String,
    pub created_at: UnixSeconds,
}

impl Versioned for AccessRequestRecord {
    const VERSION: u8 = 1;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub id: String,
    pub app: String,
    pub organisation: String,
    pub product: String,
    pub plan: String,
    /// Self-Serve: its own certificates (a replaced one with its retire-by time).
    #[serde(default)]
    pub certificates: Vec<SubscriptionCertificate>,
    pub credential: String,
    pub created_at: UnixSeconds,
}

impl Versioned for SubscriptionRecord {
    const VERSION: u8 = 1;
}

mod optional_base64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| base64::engine::general_purpose::STANDARD.decode(t).map_err(serde::de::Error::custom)).transpose()
    }
}

fn request_not_found() -> ServiceError {
    ServiceError::NotFound { what: "access request" }
}

impl From<TransitionError> for ServiceError {
    fn from(e: TransitionError) -> Self {
        ServiceError::Conflict { code: e.code, message: e.message }
    }
}

/// The claim an app holds on a product while a request is pending or a subscription live.
pub(super) fn claim_key(app: &str, product: &str) -> String {
    format!("{app}/{product}")
}

/// What a new request asks for, as the consumer sends it.
pub struct NewRequest {
    pub product: String,
    pub plan: String,
    /// Self-Serve only: the certificate as PEM (or DER), validated before anything is stored.
    pub certificate: Option<Vec<u8>>,
}

/// The certificates linked to an organisation that can stand in a credential (Managed), from
/// the `ORGANISATION_CERTIFICATES` index.
pub(crate) fn organisation_certificates(
    index: &impl ReadableTable<&'static str, &'static [u8]>,
    certificates: &impl ReadableTable<&'static str, &'static [u8]>,
    organisation: &str,
) -> Result<Vec<String>, ServiceError> {
    let mut out = Vec::new();
    for id in references::holders(index, organisation)? {
        if let Some(record) = certificates.get(id.as_str())? {
            let record: CertificateRecord = codec::decode("certificates", &id, record.value())?;
            if fits_credential(&record.facts) {
                out.push(record.facts.id);
            }
        }
    }
    Ok(out)
}

/// The product, the plan's membership in it, and how the product authenticates.
pub(super) fn product_terms(txn: &WriteTransaction, product: &str) -> Result<(crate::products::ProductRecord, ProductAuth), ServiceError> {
    let record = crate::products::load(&txn.open_table(tables::PRODUCTS)?, product)?.ok_or(ServiceError::NotFound { what: "product" })?;
    let facts = crate::products::api_facts(&txn.open_table(tables::APIS)?, &record.spec.apis)?;
    let (_, auth) = record.spec.clone().normalise(&facts)?;
    Ok((record, auth))
}

/// A Self-Serve certificate must be usable for client authentication now: the gateway's policy.
pub(super) fn usable_certificate(body: &[u8], now: UnixSeconds) -> Result<(Vec<u8>, CertificateFacts), ServiceError> {
    let (der, facts) = pki::read_one_certificate(body, pki::sniff_encoding(body)).map_err(|e| ServiceError::invalid(e.code(), e.message()))?;
    if let Some(problem) = pki::client_auth_problem(&facts, now) {
        return Err(ServiceError::invalid("certificate_not_usable", problem.describe()));
    }
    Ok((der, facts))
}

fn refuse_without_certificates(organisation_has: bool) -> Result<(), ServiceError> {
    if organisation_has {
        return Ok(());
    }
    Err(ServiceError::Conflict {
        code: "organisation_has_no_certificate",
        message: "This product uses your organisation's certificates, and it has none yet: ask the API provider's administrator to link one to your organisation.".into(),
    })
}

#[derive(Clone)]
pub struct AccessRequests {
    store: Store,
}

impl AccessRequests {
    pub fn new(store: Store) -> AccessRequests {
        AccessRequests { store }
    }

    /// A consumer asks for a product with a plan for one of their apps. A plan with
    /// auto-approve is approved in the same transaction.
    pub async fn create(&self, actor: &Actor, app: &str, new: NewRequest) -> Result<AccessRequestRecord, ServiceError> {
        let (actor, app) = (actor.clone(), app.to_string());
        let now = clock::now();
        // Parsed before the write: bad input stores nothing and never reaches the writer.
        let certificate = new.certificate.as_deref().map(|body| usable_certificate(body, now)).transpose()?;
        self.store
            .write_published(PublishScope::Touched, move |txn| {
                let app = apps::visible_in(txn, &app, &actor)?;
                let (product, auth) = product_terms(txn, &new.product)?;
                if !product.spec.visible_to_organisation(&app.organisation) {
                    return Err(ServiceError::NotFound { what: "product" });
                }
                if !product.spec.plans.contains(&new.plan) {
                    return Err(ServiceError::invalid("unknown_plan", "The product does not offer this plan."));
                }
                let self_serve = matches!(auth, ProductAuth::AuthToken { mtls: true }) && product.spec.certificate_mode == Some(CertificateMode::SelfServe);
                match (&certificate, self_serve) {
                    (None, true) => {
                        return Err(ServiceError::invalid("certificate_required", "This product asks for your client certificate with the request (PEM or DER)."))
                    }
                    (Some(_), false) => {
                        return Err(ServiceError::invalid("certificate_not_applicable", "This product does not take a certificate with the request."))
                    }
                    _ => {}
                }
                if matches!(auth, ProductAuth::AuthToken { mtls: true }) && product.spec.certificate_mode == Some(CertificateMode::Managed) {
                    let has = !organisation_certificates(&txn.open_table(tables::ORGANISATION_CERTIFICATES)?, &txn.open_table(tables::CERTIFICATES)?, &app.organisation)?.is_empty();
                    refuse_without_certificates(has)?;
                }
                let claim = claim_key(&app.id, &product.id);
                if txn.open_table(tables::APP_PRODUCT_CLAIMS)?.get(claim.as_str())?.is_some() {
                    return Err(ServiceError::Conflict {
                        code: "already_subscribed",
                        message: "This app already has a pending request or a subscription for this product.".into(),
                    });
                }
                txn.open_table(tables::APP_PRODUCT_CLAIMS)?.insert(claim.as_str(), &[][..])?;
                let mut record = AccessRequestRecord {
                    id: ids::new_id("req"),
                    app: app.id.clone(),
                    organisation: app.organisation.clone(),
                    kind: RequestKind::Subscribe {
                        product: product.id.clone(),
                        plan: new.plan.clone(),
                        certificate: certificate.as_ref().map(|(_, f)| f.id.clone()),
                    },
                    state: RequestState::Pending,
                    certificate_der: certificate.map(|(der, _)| der),
                    requested_by: actor.audit_name().to_string(),
                    created_at: now,
                };
                audit::record_in(txn, actor.audit_name(), "access_request.created", &record.id, format!("app {} product {}", app.id, product.id), Some(&app.organisation))?;
                let plan = crate::plans::load(&txn.open_table(tables::PLANS)?, &new.plan)?;
                if plan.is_some_and(|p| p.spec.auto_approve) {
                    approve_in(txn, &mut record, "auto-approve", now)?;
                }
                records::put_request(txn, &record)?;
                Ok(record)
            })
            .await
    }

    /// The requests the actor may see, optionally in one state, newest first.
    pub async fn list(&self, actor: &Actor, state: Option<&str>) -> Result<Vec<AccessRequestRecord>, ServiceError> {
        Ok(self.page(actor, state, None, usize::MAX).await?.items)
    }

    /// One page of [`AccessRequests::list`], read from the store's lists (newest first) after
    /// the list key `after` (`records::request_key` of the last item of the previous page).
    pub async fn page(&self, actor: &Actor, state: Option<&str>, after: Option<String>, limit: usize) -> Result<Paged<AccessRequestRecord>, ServiceError> {
        let (actor, state) = (actor.clone(), state.map(str::to_string));
        self.store
            .read(move |txn| {
                let apps = txn.open_table(tables::APPS)?;
                let of = match (&actor, state.as_deref()) {
                    (Actor::Consumer { organisation, .. }, _) => records::RequestsOf::Organisation(organisation),
                    (Actor::Admin { .. }, Some(state)) => records::RequestsOf::State(state),
                    (Actor::Admin { .. }, None) => records::RequestsOf::All,
                };
                let mut page = Paged::new(limit);
                records::requests_of(&txn.open_table(tables::ACCESS_REQUESTS_BY)?, &txn.open_table(tables::ACCESS_REQUESTS)?, of, after.as_deref(), |record| {
                    let wanted = state.as_deref().is_none_or(|s| s == record.state.name()) && apps::manages_app_id(&apps, &record.app, &record.organisation, &actor)?;
                    Ok(!wanted || page.push(record))
                })?;
                Ok(page)
            })
            .await
    }

    /// One request the actor may see (another organisation's is not found, like a missing one).
    pub async fn get(&self, actor: &Actor, id: &str) -> Result<AccessRequestRecord, ServiceError> {
        let (actor, id) = (actor.clone(), id.to_string());
        self.store
            .read(move |txn| {
                let Some(v) = txn.open_table(tables::ACCESS_REQUESTS)?.get(id.as_str())? else { return Err(request_not_found()) };
                let record: AccessRequestRecord = codec::decode("access_requests", &id, v.value())?;
                if !apps::manages_app_id(&txn.open_table(tables::APPS)?, &record.app, &record.organisation, &actor)? {
                    return Err(request_not_found());
                }
                Ok(record)
            })
            .await
    }

    /// How many requests each state has (states without any are absent), read from the
    /// index's keys alone. Admin only: the counts span every organisation.
    pub async fn counts(&self, actor: &Actor) -> Result<BTreeMap<String, usize>, ServiceError> {
        actor.require_admin()?;
        self.store.read(|txn| records::request_counts(&txn.open_table(tables::ACCESS_REQUESTS_BY)?)).await
    }

    /// The admin approves: the subscription and its credential (without a token) exist from
    /// now, and the credential's certificates join the allow lists before this returns.
    pub async fn approve(&self, actor: &Actor, id: &str) -> Result<AccessRequestRecord, ServiceError> {
        actor.require_admin()?;
        let (id, who) = (id.to_string(), actor.audit_name().to_string());
        self.store
            .write_published(PublishScope::Touched, move |txn| {
                let mut record = load(txn, &id)?;
                approve_in(txn, &mut record, &who, clock::now())?;
                records::put_request(txn, &record)?;
                Ok(record)
            })
            .await
    }

    /// The admin rejects with a reason the consumer sees.
    pub async fn reject(&self, actor: &Actor, id: &str, reason: &str) -> Result<AccessRequestRecord, ServiceError> {
        actor.require_admin()?;
        let (id, who, reason) = (id.to_string(), actor.audit_name().to_string(), reason.to_string());
        self.store
            .write(move |txn| {
                let mut record = load(txn, &id)?;
                record.state = states::reject(&record.state, &who, &reason, clock::now())?;
                release_claim(txn, &record)?;
                records::put_request(txn, &record)?;
                audit::record_in(txn, &who, "access_request.rejected", &record.id, reason.clone(), Some(&record.organisation))?;
                Ok(record)
            })
            .await
    }

    /// The consumer withdraws a pending request of their organisation.
    pub async fn withdraw(&self, actor: &Actor, id: &str) -> Result<AccessRequestRecord, ServiceError> {
        let (id, actor) = (id.to_string(), actor.clone());
        self.store
            .write(move |txn| {
                let mut record = load(txn, &id)?;
                if !apps::manages_app_id(&txn.open_table(tables::APPS)?, &record.app, &record.organisation, &actor)? {
                    return Err(request_not_found());
                }
                record.state = states::withdraw(&record.state, clock::now())?;
                release_claim(txn, &record)?;
                records::put_request(txn, &record)?;
                audit::record_in(txn, actor.audit_name(), "access_request.withdrawn", &record.id, String::new(), Some(&record.organisation))?;
                Ok(record)
            })
            .await
    }
}

fn load(txn: &WriteTransaction, id: &str) -> Result<AccessRequestRecord, ServiceError> {
    match txn.open_table(tables::ACCESS_REQUESTS)?.get(id)? {
        Some(v) => Ok(codec::decode("access_requests", id, v.value())?),
        None => Err(request_not_found()),
    }
}

fn release_claim(txn: &WriteTransaction, record: &AccessRequestRecord) -> Result<(), ServiceError> {
    let claim = match &record.kind {
        RequestKind::Subscribe { product, .. } => claim_key(&record.app, product),
        RequestKind::ChangePlan { .. } | RequestKind::Renew { .. } => lifecycle::claim_of(record),
    };
    txn.open_table(tables::APP_PRODUCT_CLAIMS)?.remove(claim.as_str())?;
    Ok(())
}

/// Approval inside a write: checks the rules again (things may have changed since the
/// request), registers a Self-Serve certificate, creates the subscription and its credential.
/// A plan change or a renewal changes the subscription instead (`lifecycle`).
pub(super) fn approve_in(txn: &WriteTransaction, record: &mut AccessRequestRecord, who: &str, now: UnixSeconds) -> Result<(), ServiceError> {
    let state = states::approve(&record.state, who, now)?;
    let (product, plan) = match record.kind.clone() {
        RequestKind::Subscribe { product, plan, .. } => (product, plan),
        RequestKind::ChangePlan { .. } | RequestKind::Renew { .. } => {
            lifecycle::approve_in(txn, record, who, now)?;
            release_claim(txn, record)?;
            record.state = state;
            return Ok(());
        }
    };
    let (product_record, auth) = product_terms(txn, &product)?;
    let mtls = matches!(auth, ProductAuth::AuthToken { mtls: true });
    let mut certificates = Vec::new();
    match (mtls, product_record.spec.certificate_mode) {
        (true, Some(CertificateMode::Managed)) => {
            let has = !organisation_certificates(&txn.open_table(tables::ORGANISATION_CERTIFICATES)?, &txn.open_table(tables::CERTIFICATES)?, &record.organisation)?.is_empty();
            refuse_without_certificates(has)?;
        }
        (true, Some(CertificateMode::SelfServe)) => {
            let der = record.certificate_der.clone().ok_or_else(|| ServiceError::invalid("certificate_required", "The request has no certificate."))?;
            let (der, facts) = usable_certificate(&der, now)?;
            register_self_serve(txn, &der, &facts, &record.organisation, now)?;
            certificates.push(SubscriptionCertificate { id: facts.id.clone(), retire_by: None });
        }
        _ => {}
    }
    let subscription = SubscriptionRecord {
        id: ids::new_id("sub"),
        app: record.app.clone(),
        organisation: record.organisation.clone(),
        product: product.clone(),
        plan,
        certificates,
        credential: ids::new_id("crd"),
        created_at: now,
    };
    let credential = CredentialRecord { id: subscription.credential.clone(), subscription: subscription.id.clone(), tokens: TokenState::default(), created_at: now };
    let held: Vec<String> = subscription.certificates.iter().map(|c| c.id.clone()).collect();
    references::add(txn, tables::CERTIFICATE_USERS, &held, &format!("sub:{}", subscription.id))?;
    super::records::put_subscription(txn, &subscription)?;
    super::records::put_credential(txn, &credential)?;
    record.state = state;
    audit::record_in(
        txn,
        who,
        "access_request.approved",
        &record.id,
        format!("subscription {} credential {}", subscription.id, credential.id),
        Some(&record.organisation),
    )
}

/// Registers a Self-Serve certificate in the provider store, or reuses the entry. A certificate
/// another organisation holds (linked to it, or in its subscriptions) is refused without naming
/// that organisation.
pub(super) fn register_self_serve(txn: &WriteTransaction, der: &[u8], facts: &CertificateFacts, organisation: &str, now: UnixSeconds) -> Result<(), ServiceError> {
    refuse_held_elsewhere(txn, &facts.id, organisation)?;
    if txn.open_table(tables::CERTIFICATES)?.get(facts.id.as_str())?.is_none() {
        let record = CertificateRecord { facts: facts.clone(), der: der.to_vec(), added_at: now };
        crate::certificates::put_record(txn, &record)?;
    }
    Ok(())
}

/// A certificate another organisation holds (linked to it, or in its subscriptions) is refused
/// without naming that organisation.
pub(super) fn refuse_held_elsewhere(txn: &WriteTransaction, certificate: &str, organisation: &str) -> Result<(), ServiceError> {
    let held_elsewhere = || ServiceError::Conflict {
        code: "certificate_held_elsewhere",
        message: "This certificate already belongs to another organisation: use a certificate of your own.".into(),
    };
    if let Some(v) = txn.open_table(tables::CERTIFICATE_PORTAL)?.get(certificate)? {
        let meta: CertificatePortalMeta = codec::decode("certificate_portal", certificate, v.value())?;
        if meta.organisation_ids.iter().any(|o| o != organisation) {
            return Err(held_elsewhere());
        }
    }
    let subscriptions = txn.open_table(tables::SUBSCRIPTIONS)?;
    for holder in references::holders(&txn.open_table(tables::CERTIFICATE_USERS)?, certificate)? {
        if let Some(sub) = holder.strip_prefix("sub:") {
            if let Some(v) = subscriptions.get(sub)? {
                let other: SubscriptionRecord = codec::decode("subscriptions", sub, v.value())?;
                if other.organisation != organisation {
                    return Err(held_elsewhere());
                }
            }
        }
    }
    Ok(())
}

/// App deletion: pending requests withdrawn, subscriptions ended and their credentials revoked.
pub(crate) fn end_everything_of_app(txn: &WriteTransaction, app: &str, now: UnixSeconds) -> Result<(), ServiceError> {
    let mut pending = Vec::new();
    records::requests_of(&txn.open_table(tables::ACCESS_REQUESTS_BY)?, &txn.open_table(tables::ACCESS_REQUESTS)?, records::RequestsOf::App(app), None, |record| {
        if record.state.is_pending() {
            pending.push(record);
        }
        Ok(true)
    })?;
    for mut record in pending {
        record.state = states::withdraw(&record.state, now)?;
        records::put_request(txn, &record)?;
    }
    let mut ended = Vec::new();
    {
        let subscriptions = txn.open_table(tables::SUBSCRIPTIONS)?;
        for id in records::subscriptions_of(&txn.open_table(tables::SUBSCRIPTIONS_BY)?, SubscriptionsOf::App(app))? {
            if let Some(v) = subscriptions.get(id.as_str())? {
                ended.push(codec::decode::<SubscriptionRecord>("subscriptions", &id, v.value())?);
            }
        }
    }
    for subscription in &ended {
        records::remove_subscription(txn, subscription)?;
    }
    let mut claims = txn.open_table(tables::APP_PRODUCT_CLAIMS)?;
    for product in references::holders(&claims, app)? {
        claims.remove(claim_key(app, &product).as_str())?;
    }
    drop(claims);
    for subscription in ended {
        // A live credential ends with its app: the same event as a revocation.
        let live = match txn.open_table(tables::CREDENTIALS)?.get(subscription.credential.as_str())? {
            Some(c) => codec::decode::<CredentialRecord>("credentials", &subscription.credential, c.value())?.tokens.revoked_at.is_none(),
            None => false,
        };
        if live {
            crate::webhooks::events::credential_ended(txn, &subscription.credential, &subscription.organisation, &format!("app {app} deleted"))?;
        }
        records::remove_credential(txn, &subscription.credential, &subscription.id)?;
        let held: Vec<String> = subscription.certificates.iter().map(|c| c.id.clone()).collect();
        references::remove(txn, tables::CERTIFICATE_USERS, &held, &format!("sub:{}", subscription.id))?;
    }
    Ok(())
}

/// The live subscriptions (credential not revoked) of a product or a plan, for the 409 that
/// protects them from deletion.
pub(crate) fn subscriptions_using(txn: &WriteTransaction, of: SubscriptionsOf<'_>) -> Result<Vec<String>, ServiceError> {
    let (subscriptions, credentials) = (txn.open_table(tables::SUBSCRIPTIONS)?, txn.open_table(tables::CREDENTIALS)?);
    let mut live = Vec::new();
    for id in records::subscriptions_of(&txn.open_table(tables::SUBSCRIPTIONS_BY)?, of)? {
        let Some(v) = subscriptions.get(id.as_str())? else { continue };
        let subscription: SubscriptionRecord = codec::decode("subscriptions", &id, v.value())?;
        let revoked = match credentials.get(subscription.credential.as_str())? {
            Some(c) => codec::decode::<CredentialRecord>("credentials", &subscription.credential, c.value())?.tokens.revoked_at.is_some(),
            None => true,
        };
        if !revoked {
            live.push(id);
        }
    }
    Ok(live)
}
