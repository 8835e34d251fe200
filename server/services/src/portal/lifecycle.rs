//! A subscription's life after its first approval: a plan change and a Self-Serve certificate
//! renewal, each an access request approved, rejected or withdrawn like the first one; and
//! retiring a replaced certificate. One pending change and one pending renewal per subscription
//! at most, held as claims beside the app's product claims (`<app>/change-plan:<sub>`), so
//! deleting the app releases them with the rest.

use certgate_core::portal::derive::SubscriptionCertificate;
use certgate_core::portal::product::{CertificateMode, ProductAuth};
use certgate_core::portal::request::{RequestKind, RequestState};
use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};

use super::requests::{self, AccessRequestRecord, SubscriptionRecord};
use super::{apps, retirement, Actor};
use crate::store::codec;
use crate::store::tables;
use crate::{audit, ids, references, ServiceError};

pub(super) fn subscription_not_found() -> ServiceError {
    ServiceError::NotFound { what: "subscription" }
}

/// The claim a pending plan change or renewal holds on its subscription.
pub(super) fn claim_of(record: &AccessRequestRecord) -> String {
    match &record.kind {
        RequestKind::ChangePlan { subscription, .. } => requests::claim_key(&record.app, &format!("change-plan:{subscription}")),
        RequestKind::Renew { subscription, .. } => requests::claim_key(&record.app, &format!("renewal:{subscription}")),
        RequestKind::Subscribe { product, .. } => requests::claim_key(&record.app, product),
    }
}

pub(super) fn load_subscription(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<SubscriptionRecord, ServiceError> {
    match table.get(id)? {
        Some(v) => Ok(codec::decode("subscriptions", id, v.value())?),
        None => Err(subscription_not_found()),
    }
}

/// The subscription, if the actor may see its app: anything else is not found, exactly like an
/// id that does not exist.
pub(super) fn visible_subscription(
    subscriptions: &impl ReadableTable<&'static str, &'static [u8]>,
    apps_table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
    actor: &Actor,
) -> Result<SubscriptionRecord, ServiceError> {
    let subscription = load_subscription(subscriptions, id)?;
    match apps::load_visible(apps_table, &subscription.app, actor) {
        Ok(_) => Ok(subscription),
        Err(ServiceError::NotFound { .. }) => Err(subscription_not_found()),
        Err(e) => Err(e),
    }
}

fn visible_in(txn: &WriteTransaction, id: &str, actor: &Actor) -> Result<SubscriptionRecord, ServiceError> {
    visible_subscription(&txn.open_table(tables::SUBSCRIPTIONS)?, &txn.open_table(tables::APPS)?, id, actor)
}

fn save(txn: &WriteTransaction, subscription: &SubscriptionRecord) -> Result<(), ServiceError> {
    super::records::put_subscription(txn, subscription)
}

/// A subscription whose credential is revoked has ended (the app may subscribe anew): it takes
/// no plan change or renewal, and one filed before the revocation cannot be approved.
fn refuse_if_ended(txn: &WriteTransaction, subscription: &SubscriptionRecord) -> Result<(), ServiceError> {
    let credential = txn.open_table(tables::CREDENTIALS)?.get(subscription.credential.as_str())?.map(|v| {
        codec::decode::<super::credentials::CredentialRecord>("credentials", &subscription.credential, v.value())
    });
    match credential.transpose()? {
        Some(c) if c.tokens.revoked_at.is_none() => Ok(()),
        _ => Err(ServiceError::Conflict {
            code: "subscription_ended",
            message: "This subscription has ended (its credential was revoked): request the product again instead.".into(),
        }),
    }
}

/// Whether the subscription's product takes the consumer's own certificates now.
fn is_self_serve(txn: &WriteTransaction, subscription: &SubscriptionRecord) -> Result<bool, ServiceError> {
    let (product, auth) = requests::product_terms(txn, &subscription.product)?;
    Ok(matches!(auth, ProductAuth::AuthToken { mtls: true }) && product.spec.certificate_mode == Some(CertificateMode::SelfServe))
}

fn refuse_unless_self_serve(txn: &WriteTransaction, subscription: &SubscriptionRecord) -> Result<(), ServiceError> {
    if is_self_serve(txn, subscription)? {
        return Ok(());
    }
    Err(ServiceError::Conflict {
        code: "not_self_serve",
        message: "This subscription's product does not use your own certificates (Self-Serve): there is nothing to renew or retire.".into(),
    })
}

/// The plan must be one the product offers, and another than the current one.
fn check_target_plan(txn: &WriteTransaction, subscription: &SubscriptionRecord, plan: &str) -> Result<(), ServiceError> {
    let (product, _) = requests::product_terms(txn, &subscription.product)?;
    if !product.spec.plans.iter().any(|p| p == plan) {
        return Err(ServiceError::invalid("unknown_plan", "The product does not offer this plan."));
    }
    if subscription.plan == plan {
        return Err(ServiceError::invalid("same_plan", "The subscription has this plan already."));
    }
    Ok(())
}

/// Takes the claim of a pending change (409 when one is pending already).
fn take_claim(txn: &WriteTransaction, record: &AccessRequestRecord, code: &'static str, message: &str) -> Result<(), ServiceError> {
    let claim = claim_of(record);
    let mut claims = txn.open_table(tables::APP_PRODUCT_CLAIMS)?;
    if claims.get(claim.as_str())?.is_some() {
        return Err(ServiceError::Conflict { code, message: message.into() });
    }
    claims.insert(claim.as_str(), &[][..])?;
    Ok(())
}

/// Files the request; approves it at once when `auto_approve`.
fn file(txn: &WriteTransaction, mut record: AccessRequestRecord, auto_approve: bool, now: UnixSeconds) -> Result<AccessRequestRecord, ServiceError> {
    audit::record(txn, &record.requested_by, "access_request.created", &record.id, describe(&record.kind))?;
    if auto_approve {
        requests::approve_in(txn, &mut record, "auto-approve", now)?;
    }
    super::records::put_request(txn, &record)?;
    Ok(record)
}

fn describe(kind: &RequestKind) -> String {
    match kind {
        RequestKind::Subscribe { product, plan, .. } => format!("product {product} plan {plan}"),
        RequestKind::ChangePlan { subscription, plan } => format!("subscription {subscription}: plan {plan}"),
        RequestKind::Renew { subscription, certificate } => format!("subscription {subscription}: renewal with certificate {certificate}"),
    }
}

fn auto_approves(txn: &WriteTransaction, plan: &str) -> Result<bool, ServiceError> {
    Ok(crate::plans::load(&txn.open_table(tables::PLANS)?, plan)?.is_some_and(|p| p.spec.auto_approve))
}

fn new_record(subscription: &SubscriptionRecord, kind: RequestKind, actor: &Actor, now: UnixSeconds) -> AccessRequestRecord {
    AccessRequestRecord {
        id: ids::new_id("req"),
        app: subscription.app.clone(),
        organisation: subscription.organisation.clone(),
        kind,
        state: RequestState::Pending,
        certificate_der: None,
        requested_by: actor.audit_name().to_string(),
        created_at: now,
    }
}

/// A consumer asks for another plan for a live subscription. Auto-approve of the target plan
/// approves it at once.
pub(super) fn request_plan_change(txn: &WriteTransaction, actor: &Actor, subscription: &str, plan: &str, now: UnixSeconds) -> Result<AccessRequestRecord, ServiceError> {
    let subscription = visible_in(txn, subscription, actor)?;
    refuse_if_ended(txn, &subscription)?;
    check_target_plan(txn, &subscription, plan)?;
    let record = new_record(&subscription, RequestKind::ChangePlan { subscription: subscription.id.clone(), plan: plan.to_string() }, actor, now);
    take_claim(txn, &record, "change_pending", "This subscription has a pending plan change: withdraw it first.")?;
    file(txn, record, auto_approves(txn, plan)?, now)
}

/// A consumer submits a replacement certificate for a Self-Serve subscription (already checked
/// usable by the caller; `der` and its id). The subscription's plan's auto-approve applies, as
/// for the first request.
pub(super) fn request_renewal(
    txn: &WriteTransaction,
    actor: &Actor,
    subscription: &str,
    der: Vec<u8>,
    certificate: String,
    now: UnixSeconds,
) -> Result<AccessRequestRecord, ServiceError> {
    let subscription = visible_in(txn, subscription, actor)?;
    refuse_if_ended(txn, &subscription)?;
    refuse_unless_self_serve(txn, &subscription)?;
    refuse_held_already(&subscription, &certificate)?;
    requests::refuse_held_elsewhere(txn, &certificate, &subscription.organisation)?;
    let mut record = new_record(&subscription, RequestKind::Renew { subscription: subscription.id.clone(), certificate }, actor, now);
    record.certificate_der = Some(der);
    take_claim(txn, &record, "renewal_pending", "This subscription has a pending renewal: withdraw it first.")?;
    file(txn, record, auto_approves(txn, &subscription.plan)?, now)
}

fn refuse_held_already(subscription: &SubscriptionRecord, certificate: &str) -> Result<(), ServiceError> {
    if subscription.certificates.iter().any(|c| c.id == certificate) {
        return Err(ServiceError::Conflict {
            code: "certificate_already_in_subscription",
            message: "The subscription holds this certificate already: a renewal brings a new one.".into(),
        });
    }
    Ok(())
}

/// Approval of a plan change or a renewal, inside the approving write; the rules are checked
/// again (the product may have changed since the request).
pub(super) fn approve_in(txn: &WriteTransaction, record: &AccessRequestRecord, who: &str, now: UnixSeconds) -> Result<(), ServiceError> {
    match &record.kind {
        RequestKind::ChangePlan { subscription, plan } => {
            let mut subscription = load_subscription(&txn.open_table(tables::SUBSCRIPTIONS)?, subscription)?;
            refuse_if_ended(txn, &subscription)?;
            check_target_plan(txn, &subscription, plan).map_err(as_conflict)?;
            let before = std::mem::replace(&mut subscription.plan, plan.clone());
            save(txn, &subscription)?;
            // The limits key stays the subscription: the rate and quota counts carry over.
            audit::record(txn, who, "access_request.approved", &record.id, format!("subscription {}: plan {before} -> {plan}", subscription.id))
        }
        RequestKind::Renew { subscription, .. } => {
            let mut subscription = load_subscription(&txn.open_table(tables::SUBSCRIPTIONS)?, subscription)?;
            refuse_if_ended(txn, &subscription)?;
            refuse_unless_self_serve(txn, &subscription)?;
            let der = record.certificate_der.clone().ok_or_else(|| ServiceError::invalid("certificate_required", "The request has no certificate."))?;
            // Checked again: the certificate may have expired since it was submitted.
            let (der, facts) = requests::usable_certificate(&der, now)?;
            refuse_held_already(&subscription, &facts.id)?;
            requests::register_self_serve(txn, &der, &facts, &subscription.organisation, now)?;
            let retire_by = now.saturating_add(retirement::RENEWAL_OVERLAP_SECONDS);
            for old in subscription.certificates.iter_mut().filter(|c| c.retire_by.is_none()) {
                old.retire_by = Some(retire_by);
                retirement::schedule(txn, retire_by, &subscription.id, &old.id)?;
            }
            subscription.certificates.push(SubscriptionCertificate { id: facts.id.clone(), retire_by: None });
            references::add(txn, tables::CERTIFICATE_USERS, std::slice::from_ref(&facts.id), &format!("sub:{}", subscription.id))?;
            save(txn, &subscription)?;
            audit::record(txn, who, "access_request.approved", &record.id, format!("subscription {}: certificate {} added", subscription.id, facts.id))
        }
        RequestKind::Subscribe { .. } => Err(ServiceError::Internal("a subscription request is approved by requests::approve_in".into())),
    }
}

/// At approval, what was bad input at request time is a conflict with what changed since.
fn as_conflict(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::Invalid { code, message } => ServiceError::Conflict { code, message },
        other => other,
    }
}

/// The consumer retires one of a subscription's certificates at once (a replaced one, usually):
/// it leaves the allow lists and the binding from the next request. At least one certificate
/// without a retire-by time must remain (409 `last_certificate`).
pub(super) fn retire_certificate(txn: &WriteTransaction, actor: &Actor, subscription: &str, certificate: &str) -> Result<SubscriptionRecord, ServiceError> {
    let mut subscription = visible_in(txn, subscription, actor)?;
    let Some(position) = subscription.certificates.iter().position(|c| c.id == certificate) else {
        return Err(ServiceError::NotFound { what: "certificate in this subscription" });
    };
    let remains = subscription.certificates.iter().enumerate().any(|(i, c)| i != position && c.retire_by.is_none());
    if !remains {
        return Err(ServiceError::Conflict {
            code: "last_certificate",
            message: "This is the subscription's current certificate: renew it with another one before retiring it.".into(),
        });
    }
    let retired = subscription.certificates.remove(position);
    if let Some(at) = retired.retire_by {
        retirement::unschedule(txn, at, &subscription.id, &retired.id)?;
    }
    references::remove(txn, tables::CERTIFICATE_USERS, std::slice::from_ref(&retired.id), &format!("sub:{}", subscription.id))?;
    save(txn, &subscription)?;
    audit::record(txn, actor.audit_name(), "subscription.certificate_retired", &subscription.id, retired.id)?;
    Ok(subscription)
}
