//! What a portal credential grants, derived — never stored (DESIGN.md "Allow lists are derived,
//! not mutated"): its APIs from the product, its limits from the plan, its certificates from
//! the organisation (Managed) or the subscription (Self-Serve), its binding from the product.
//! An API's effective allow list is the admin's entries plus what the live credentials of the
//! products containing it contribute: recomputed, not reference-counted.

use std::collections::{BTreeMap, BTreeSet};

use super::product::{CertificateMode, ProductAuth};
use crate::gateway::spec::{Quota, Rate};
use crate::pki::{self, CertificateFacts, ClientCertificateProblem};
use crate::UnixSeconds;

/// The product as derivation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductTerms {
    pub id: String,
    pub apis: Vec<String>,
    pub auth: ProductAuth,
    pub mode: Option<CertificateMode>,
    pub binding: bool,
}

/// A certificate of a Self-Serve subscription; a replaced one carries when it stops counting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubscriptionCertificate {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_by: Option<UnixSeconds>,
}

/// Why a credential grants nothing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dormant {
    Revoked,
    OrganisationSuspended,
    /// The product's APIs use JWT: the portal issues no token and the allow list is the admin's.
    JwtProduct,
}

/// What one live credential grants: the gateway's key entries and allow-list contributions
/// are built from this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialGrant {
    /// Rate and quota are counted by this key (the subscription), so rotating a token or
    /// changing plan resets nothing.
    pub limits_key: String,
    pub apis: Vec<String>,
    /// Certificate ids that join the allow lists of `apis` (leaf pins and CA entries).
    pub certificates: Vec<String>,
    /// With binding on, the token works only with `certificates` (an empty set denies).
    pub bound: bool,
    pub rate: Option<Rate>,
    pub quota: Option<Quota>,
}

/// Whether a certificate may stand in a credential's set: a CA (it covers the leaves it
/// issues), or a leaf whose only possible problem is time (the gateway checks validity per
/// request, so a certificate that expires leaves by itself).
pub fn fits_credential(facts: &CertificateFacts) -> bool {
    if facts.is_ca {
        return true;
    }
    // Judged at its not_before, an instant inside its validity: what remains is the permanent
    // part of the policy.
    !matches!(
        pki::client_auth_problem(facts, facts.not_before),
        Some(
            ClientCertificateProblem::IsCa
                | ClientCertificateProblem::NoClientAuthUsage
                | ClientCertificateProblem::RefusedByTls
                | ClientCertificateProblem::WeakKey
                | ClientCertificateProblem::UnsupportedKey
                | ClientCertificateProblem::WeakSignature
        )
    )
}

/// Everything a credential's derivation reads.
pub struct CredentialInputs<'a> {
    pub subscription_id: &'a str,
    pub product: &'a ProductTerms,
    pub rate: Option<Rate>,
    pub quota: Option<Quota>,
    pub revoked: bool,
    pub organisation_suspended: bool,
    /// Managed: the organisation's linked certificates that fit (see [`fits_credential`]).
    pub organisation_certificates: &'a [String],
    /// Self-Serve: the subscription's own certificates.
    pub subscription_certificates: &'a [SubscriptionCertificate],
}

/// The grant of one credential at `now`, or why it grants nothing.
pub fn credential_grant(inputs: &CredentialInputs<'_>, now: UnixSeconds) -> Result<CredentialGrant, Dormant> {
    if inputs.revoked {
        return Err(Dormant::Revoked);
    }
    if inputs.organisation_suspended {
        return Err(Dormant::OrganisationSuspended);
    }
    let product = inputs.product;
    let certificates: Vec<String> = match (product.auth, product.mode) {
        (ProductAuth::Jwt, _) => return Err(Dormant::JwtProduct),
        (ProductAuth::AuthToken { mtls: false }, _) | (_, None) => Vec::new(),
        (ProductAuth::AuthToken { mtls: true }, Some(CertificateMode::Managed)) => sorted(inputs.organisation_certificates.iter().cloned()),
        (ProductAuth::AuthToken { mtls: true }, Some(CertificateMode::SelfServe)) => sorted(
            inputs
                .subscription_certificates
                .iter()
                .filter(|c| c.retire_by.is_none_or(|at| at > now))
                .map(|c| c.id.clone()),
        ),
    };
    let bound = product.binding && matches!(product.auth, ProductAuth::AuthToken { mtls: true });
    Ok(CredentialGrant {
        limits_key: inputs.subscription_id.to_string(),
        apis: product.apis.clone(),
        certificates,
        bound,
        rate: inputs.rate,
        quota: inputs.quota,
    })
}

fn sorted(ids: impl Iterator<Item = String>) -> Vec<String> {
    ids.collect::<BTreeSet<_>>().into_iter().collect()
}

/// What the live grants add to each API's allow list: API id -> certificate ids.
pub fn allow_list_contributions<'a>(grants: impl IntoIterator<Item = &'a CredentialGrant>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for grant in grants {
        if grant.certificates.is_empty() {
            continue;
        }
        for api in &grant.apis {
            out.entry(api.clone()).or_default().extend(grant.certificates.iter().cloned());
        }
    }
    out
}

/// The next instant a grant changes by itself (a replaced Self-Serve certificate reaching its
/// retire-by time): the services recompile then.
pub fn next_change(subscription_certificates: &[SubscriptionCertificate], now: UnixSeconds) -> Option<UnixSeconds> {
    subscription_certificates.iter().filter_map(|c| c.retire_by).filter(|at| *at > now).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::spec::QuotaPeriod;
    use certgate_testpki::{LeafSpec, TestPki, Usage};

    fn product(mode: Option<CertificateMode>, binding: bool) -> ProductTerms {
        ProductTerms {
            id: "prd_1".into(),
            apis: vec!["api_a".into(), "api_b".into()],
            auth: ProductAuth::AuthToken { mtls: true },
            mode,
            binding,
        }
    }

    fn inputs<'a>(product: &'a ProductTerms, org: &'a [String], own: &'a [SubscriptionCertificate]) -> CredentialInputs<'a> {
        CredentialInputs {
            subscription_id: "sub_1",
            product,
            rate: Some(Rate { requests: 10, per_seconds: 1 }),
            quota: Some(Quota { max: 100, period: QuotaPeriod::Day }),
            revoked: false,
            organisation_suspended: false,
            organisation_certificates: org,
            subscription_certificates: own,
        }
    }

    #[test]
    fn managed_takes_the_organisations_certificates_self_serve_its_own() {
        let org = vec!["c2".to_string(), "c1".to_string()];
        let own = vec![
            SubscriptionCertificate { id: "s_new".into(), retire_by: None },
            SubscriptionCertificate { id: "s_old".into(), retire_by: Some(1_000) },
        ];
        let managed = product(Some(CertificateMode::Managed), true);
        let grant = credential_grant(&inputs(&managed, &org, &own), 0).unwrap();
        assert_eq!(grant.certificates, vec!["c1".to_string(), "c2".to_string()]);
        assert_eq!((grant.bound, grant.limits_key.as_str(), grant.apis.len()), (true, "sub_1", 2));

        let self_serve = product(Some(CertificateMode::SelfServe), false);
        let grant = credential_grant(&inputs(&self_serve, &org, &own), 999).unwrap();
        assert_eq!(grant.certificates, vec!["s_new".to_string(), "s_old".to_string()], "both work during the renewal overlap");
        assert!(!grant.bound);
        let later = credential_grant(&inputs(&self_serve, &org, &own), 1_000).unwrap();
        assert_eq!(later.certificates, vec!["s_new".to_string()], "the old one leaves at its retire-by time");
        assert_eq!(next_change(&own, 999), Some(1_000));
        assert_eq!(next_change(&own, 1_000), None);
    }

    #[test]
    fn a_replaced_certificate_leaves_the_binding_and_the_allow_lists_at_its_retire_by_time() {
        let self_serve = product(Some(CertificateMode::SelfServe), true);
        let own = vec![
            SubscriptionCertificate { id: "old".into(), retire_by: Some(5_000) },
            SubscriptionCertificate { id: "new".into(), retire_by: None },
        ];
        let before = credential_grant(&inputs(&self_serve, &[], &own), 4_999).unwrap();
        assert_eq!((before.bound, before.certificates.clone()), (true, vec!["new".to_string(), "old".to_string()]));
        assert!(allow_list_contributions([&before])["api_a"].contains("old"));
        let at = credential_grant(&inputs(&self_serve, &[], &own), 5_000).unwrap();
        assert_eq!(at.certificates, vec!["new".to_string()], "bound to the new one only");
        assert!(!allow_list_contributions([&at])["api_b"].contains("old"), "off the allow lists");
        // Only retired certificates left: a bound credential with an empty set denies.
        let gone = [SubscriptionCertificate { id: "old".into(), retire_by: Some(5_000) }];
        let empty = credential_grant(&inputs(&self_serve, &[], &gone), 5_000).unwrap();
        assert!(empty.bound && empty.certificates.is_empty());
    }

    #[test]
    fn revoked_suspended_and_jwt_grant_nothing() {
        let managed = product(Some(CertificateMode::Managed), true);
        let org = vec!["c1".to_string()];
        let mut revoked = inputs(&managed, &org, &[]);
        revoked.revoked = true;
        assert_eq!(credential_grant(&revoked, 0), Err(Dormant::Revoked));
        let mut suspended = inputs(&managed, &org, &[]);
        suspended.organisation_suspended = true;
        assert_eq!(credential_grant(&suspended, 0), Err(Dormant::OrganisationSuspended));
        let jwt = ProductTerms { auth: ProductAuth::Jwt, mode: None, binding: false, ..managed.clone() };
        assert_eq!(credential_grant(&inputs(&jwt, &org, &[]), 0), Err(Dormant::JwtProduct));
        // Auth Token without mTLS: a token, no certificates, never bound.
        let plain = ProductTerms { auth: ProductAuth::AuthToken { mtls: false }, mode: None, binding: false, ..managed };
        let grant = credential_grant(&inputs(&plain, &org, &[]), 0).unwrap();
        assert!(grant.certificates.is_empty() && !grant.bound);
    }

    #[test]
    fn contributions_are_the_union_over_live_grants() {
        let grant = |sub: &str, apis: &[&str], certs: &[&str]| CredentialGrant {
            limits_key: sub.into(),
            apis: apis.iter().map(|s| s.to_string()).collect(),
            certificates: certs.iter().map(|s| s.to_string()).collect(),
            bound: true,
            rate: None,
            quota: None,
        };
        let grants = [grant("s1", &["a", "b"], &["c1"]), grant("s2", &["b"], &["c1", "c2"]), grant("s3", &["c"], &[])];
        let lists = allow_list_contributions(&grants);
        assert_eq!(lists["a"], BTreeSet::from(["c1".to_string()]));
        assert_eq!(lists["b"], BTreeSet::from(["c1".to_string(), "c2".to_string()]));
        assert!(!lists.contains_key("c"), "a grant without certificates adds nothing");
        // Revoking s2 is deriving again without it: c1 stays on b (s1 still has it), c2 leaves.
        let lists = allow_list_contributions(&grants[..1]);
        assert_eq!(lists["b"], BTreeSet::from(["c1".to_string()]));
    }

    #[test]
    fn which_certificates_fit_a_credential() {
        let pki = TestPki::new();
        let facts = |i: &certgate_testpki::Issued| pki::parse_der(&i.der).unwrap();
        assert!(fits_credential(&facts(&pki.leaf(&LeafSpec::client("ok")))));
        assert!(fits_credential(&facts(&pki.leaf(&LeafSpec::client("old").expired()))), "time is checked per request");
        assert!(fits_credential(&facts(&pki.intermediate)), "a CA covers the leaves it issues");
        assert!(!fits_credential(&facts(&pki.leaf(&LeafSpec::client("srv").usage(Usage::ServerAuthOnly)))));
        assert!(!fits_credential(&facts(&pki.leaf(&LeafSpec::client("crit").with_unknown_critical_extension()))));
    }
}
