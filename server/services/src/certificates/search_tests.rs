//! The admin list's filters, sort orders, pages and overview, on a real store.

use std::time::Instant;

use super::*;
use crate::organisations::Organisations;
use certgate_testpki::{Issued, LeafSpec, TestPki};

struct Shelf {
    _dir: tempfile::TempDir,
    store: Store,
    certs: Certificates,
    orgs: Organisations,
}

fn shelf() -> Shelf {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    Shelf { _dir: dir, store: store.clone(), certs: Certificates::new(store.clone()), orgs: Organisations::new(store) }
}

impl Shelf {
    /// Stores a certificate as uploaded at `added_at`: its id.
    async fn put(&self, issued: &Issued, added_at: UnixSeconds) -> String {
        let record = CertificateRecord { facts: pki::parse_der(&issued.der).unwrap(), der: issued.der.clone(), added_at };
        let id = record.facts.id.clone();
        self.store.write(move |txn| put_record(txn, &record)).await.unwrap();
        id
    }

    async fn labels(&self, filter: CertificateFilter, sort: CertificateSort) -> Vec<String> {
        let found = self.certs.search(filter, sort, 0, 100, false).await.unwrap();
        assert_eq!(found.total, found.entries.len());
        found.entries.iter().map(CertificateEntry::label).collect()
    }
}

/// alpha: 3 days left; bravo: 20; charlie: 200; delta: expired; echo: 400, named "Echo box" and
/// linked to Zebra Logistics; the intermediate CA (years). Uploaded in that order, an hour apart.
async fn stocked() -> (Shelf, TestPki, Vec<String>, String) {
    let s = shelf();
    let pki = TestPki::new();
    let t0 = clock::now() - 86_400;
    let mut ids = Vec::new();
    let specs = [
        LeafSpec::client("alpha").expiring_in_days(3),
        LeafSpec::client("bravo").expiring_in_days(20),
        LeafSpec::client("charlie").expiring_in_days(200),
        LeafSpec::client("delta").expired(),
        LeafSpec::client("echo").expiring_in_days(400),
    ];
    for (i, spec) in specs.iter().enumerate() {
        ids.push(s.put(&pki.leaf(spec), t0 + i as i64 * 3600).await);
    }
    ids.push(s.put(&pki.intermediate, t0 + 5 * 3600).await);
    let zebra = s.orgs.create("Zebra Logistics").await.unwrap().id;
    s.certs.set_display_name(&ids[4], "Echo box", "t").await.unwrap();
    s.certs.link_organisation(&ids[4], &zebra, "t").await.unwrap();
    (s, pki, ids, zebra)
}

#[tokio::test]
async fn each_expiry_bucket_holds_exactly_its_certificates() {
    let (s, _pki, _ids, _) = stocked().await;
    let bucket = |b| CertificateFilter { expiry: Some(b), ..Default::default() };
    assert_eq!(s.labels(bucket(ExpiryBucket::Expired), CertificateSort::Name).await, ["delta"]);
    assert_eq!(s.labels(bucket(ExpiryBucket::Within7), CertificateSort::Name).await, ["alpha"]);
    assert_eq!(s.labels(bucket(ExpiryBucket::Within30), CertificateSort::Name).await, ["alpha", "bravo"]);
    assert_eq!(s.labels(bucket(ExpiryBucket::Later), CertificateSort::Name).await, ["certgate test intermediate CA", "charlie", "Echo box"]);
    // Sorted by expiry, the expiry order alone answers: the same certificates, soonest first.
    for b in [ExpiryBucket::Expired, ExpiryBucket::Within7, ExpiryBucket::Within30, ExpiryBucket::Later] {
        let mut by_expiry = s.labels(bucket(b), CertificateSort::Expiry).await;
        by_expiry.sort_by_key(|l| l.to_lowercase());
        assert_eq!(by_expiry, s.labels(bucket(b), CertificateSort::Name).await, "{b:?}");
    }
    assert_eq!(s.labels(bucket(ExpiryBucket::Within30), CertificateSort::Expiry).await, ["alpha", "bravo"]);
    let second = s.certs.search(bucket(ExpiryBucket::Later), CertificateSort::Expiry, 1, 1, false).await.unwrap();
    assert_eq!((second.total, second.entries[0].label()), (3, "Echo box".to_string()), "page 2 of 1-entry pages by expiry");
    // The overview counts the whole store whatever the filter, with the same buckets.
    let filter = CertificateFilter { expiry: Some(ExpiryBucket::Expired), ..Default::default() };
    let o = s.certs.search(filter, CertificateSort::Expiry, 0, 50, true).await.unwrap().overview;
    assert_eq!((o.total, o.expired, o.within_7, o.within_30, o.later), (6, 1, 1, 2, 3), "{o:?}");
    assert_eq!(o.months[0], 2, "alpha and bravo expire within the first month: {o:?}");
    assert_eq!(o.months.iter().sum::<usize>(), 3, "charlie (200 days) is in month 7; echo and the CA are beyond a year: {o:?}");
    assert_eq!(o.months[6], 1, "{o:?}");
}

#[tokio::test]
async fn text_kind_usability_and_organisation_filters_combine() {
    let (s, _pki, ids, zebra) = stocked().await;
    let q = |text: &str| CertificateFilter { q: Some(text.into()), ..Default::default() };
    // The label, the subject's CN, a linked organisation's name.
    assert_eq!(s.labels(q("echo BOX"), CertificateSort::Name).await, vec!["Echo box"]);
    assert_eq!(s.labels(q("CHARL"), CertificateSort::Name).await, vec!["charlie"]);
    assert_eq!(s.labels(q("zebra"), CertificateSort::Name).await, vec!["Echo box"]);
    // The start of the fingerprint, in either form; never its middle.
    assert_eq!(s.labels(q(&ids[0][..12]), CertificateSort::Name).await, vec!["alpha"]);
    assert_eq!(s.labels(q(&pki::colon_fingerprint(&ids[1])[..17]), CertificateSort::Name).await, vec!["bravo"]);
    assert!(s.labels(q(&ids[0][30..46]), CertificateSort::Name).await.is_empty(), "a fingerprint's middle is no match");
    assert!(s.labels(q("no such thing"), CertificateSort::Name).await.is_empty());

    let kind = |k| CertificateFilter { kind: Some(k), ..Default::default() };
    assert_eq!(s.labels(kind(CertificateKind::Ca), CertificateSort::Name).await, vec!["certgate test intermediate CA"]);
    assert_eq!(s.labels(kind(CertificateKind::Leaf), CertificateSort::Name).await.len(), 5);

    // Usable: a leaf inside its validity; the expired leaf and the CA are not.
    let usable = |u| CertificateFilter { usable: Some(u), ..Default::default() };
    assert_eq!(s.labels(usable(true), CertificateSort::Name).await, vec!["alpha", "bravo", "charlie", "Echo box"]);
    assert_eq!(s.labels(usable(false), CertificateSort::Name).await, vec!["certgate test intermediate CA", "delta"]);

    // An organisation's certificates (read from its index), combined with other filters.
    let org = |expiry| CertificateFilter { organisation: Some(zebra.clone()), expiry, ..Default::default() };
    assert_eq!(s.labels(org(None), CertificateSort::Name).await, vec!["Echo box"]);
    assert!(s.labels(org(Some(ExpiryBucket::Within30)), CertificateSort::Name).await.is_empty());
    let unknown = CertificateFilter { organisation: Some("org_nope".into()), ..Default::default() };
    assert!(s.labels(unknown, CertificateSort::Name).await.is_empty());

    // Left out by id (the allow-list editor's search).
    let mut rest = q("a");
    rest.exclude = [ids[0].clone()].into();
    assert!(!s.labels(rest, CertificateSort::Name).await.contains(&"alpha".to_string()));
}

#[tokio::test]
async fn stale_certificates_are_found_by_when_they_last_authenticated() {
    let (s, _pki, ids, _) = stocked().await;
    let now = clock::now();
    // alpha used an hour ago, bravo 31 days ago, charlie 29 days ago; the rest never.
    let seen: LastSeenMap = std::sync::Arc::new(
        [(ids[0].clone(), now - 3_600), (ids[1].clone(), now - 31 * 86_400), (ids[2].clone(), now - 29 * 86_400)].into_iter().collect(),
    );
    let with = |usage| CertificateFilter { usage, last_seen: Some(seen.clone()), ..Default::default() };
    // The CA's use is not recorded: it is never offered as unused.
    assert_eq!(s.labels(with(Some(UsageFilter::Never)), CertificateSort::Name).await, vec!["delta", "Echo box"]);
    assert_eq!(
        s.labels(with(Some(UsageFilter::NotFor30Days)), CertificateSort::Name).await,
        vec!["bravo", "delta", "Echo box"],
        "unused for more than 30 days, or never"
    );
    // Least recently used first: the never used (by id), then bravo, charlie, alpha; the CA last.
    let order = s.labels(with(None), CertificateSort::LastUsed).await;
    assert_eq!(order[2..], ["bravo", "charlie", "alpha", "certgate test intermediate CA"]);
    // Combined with another filter; and without the gateway's record, everything is "never".
    let leaves = CertificateFilter { kind: Some(CertificateKind::Leaf), ..with(Some(UsageFilter::Never)) };
    assert_eq!(s.labels(leaves, CertificateSort::Name).await, vec!["delta", "Echo box"]);
    let unknown = CertificateFilter { usage: Some(UsageFilter::Never), ..Default::default() };
    assert_eq!(s.labels(unknown, CertificateSort::Name).await.len(), 5, "every leaf");
}

#[tokio::test]
async fn sort_orders_and_pages_never_overlap() {
    let (s, _pki, _ids, _) = stocked().await;
    let all = CertificateFilter::default;
    assert_eq!(
        s.labels(all(), CertificateSort::Name).await,
        vec!["alpha", "bravo", "certgate test intermediate CA", "charlie", "delta", "Echo box"]
    );
    assert_eq!(s.labels(all(), CertificateSort::Expiry).await[..4], ["delta", "alpha", "bravo", "charlie"]);
    assert_eq!(
        s.labels(all(), CertificateSort::Uploaded).await,
        vec!["certgate test intermediate CA", "Echo box", "delta", "charlie", "bravo", "alpha"],
        "newest first"
    );
    // Pages of 2 by name: three pages, each certificate once, the total on each.
    let mut seen = Vec::new();
    for page in 0..4 {
        let found = s.certs.search(all(), CertificateSort::Name, page * 2, 2, false).await.unwrap();
        assert_eq!(found.total, 6);
        assert_eq!(found.entries.len(), if page < 3 { 2 } else { 0 });
        seen.extend(found.entries.iter().map(CertificateEntry::label));
    }
    assert_eq!(seen, s.labels(all(), CertificateSort::Name).await);
    // A page's entries are complete: organisations and DER.
    let echo = s.certs.search(CertificateFilter { q: Some("echo".into()), ..all() }, CertificateSort::Name, 0, 1, false).await.unwrap();
    assert_eq!(echo.entries[0].organisations[0].name, "Zebra Logistics");
    assert!(!echo.entries[0].record.der.is_empty());
}

#[tokio::test]
async fn the_rest_cursor_pages_apply_the_new_filters_and_the_organisation_index() {
    let (s, _pki, _ids, zebra) = stocked().await;
    let soon = CertificateFilter { expiry: Some(ExpiryBucket::Within30), ..Default::default() };
    let (first, more) = s.certs.page(soon.clone(), None, 1).await.unwrap();
    assert_eq!((first[0].label(), more), ("alpha".to_string(), true));
    let (second, more) = s.certs.page(soon, Some(expiry_key(&first[0].record.facts)), 1).await.unwrap();
    assert_eq!((second[0].label(), more), ("bravo".to_string(), false));
    let org = CertificateFilter { organisation: Some(zebra), ..Default::default() };
    let (linked, more) = s.certs.page(org.clone(), None, 10).await.unwrap();
    assert_eq!((linked.len(), more), (1, false));
    let (after, _) = s.certs.page(org, Some(expiry_key(&linked[0].record.facts)), 10).await.unwrap();
    assert!(after.is_empty());
}

/// A timing, not a timed test: `cargo test -p certgate-services --release search_at_scale -- --ignored --nocapture`.
/// 11,000 certificates (one DER under 11,000 ids, each with its own CN and expiry), 1,000
/// organisations with 10 each.
#[tokio::test]
#[ignore]
async fn search_at_scale() {
    let s = shelf();
    let pki = TestPki::new();
    let leaf = pki.leaf(&LeafSpec::client("template"));
    let facts = pki::parse_der(&leaf.der).unwrap();
    let now = clock::now();
    let der = leaf.der.clone();
    s.store
        .write(move |txn| {
            for o in 0..1_000 {
                let org = OrganisationRecord { id: format!("org_{o:06}"), name: format!("Organisation {o}"), created_at: now, updated_at: now, suspended_at: None };
                txn.open_table(tables::ORGANISATIONS)?.insert(org.id.as_str(), codec::encode(&org)?.as_slice())?;
            }
            for i in 0..11_000_i64 {
                let mut f = facts.clone();
                f.id = format!("{i:064x}");
                f.subject_common_name = Some(format!("client-{i}"));
                f.subject = format!("CN=client-{i}, O=certgate tests");
                f.not_after = now + (i % 800 - 30) * 86_400;
                let record = CertificateRecord { facts: f, der: der.clone(), added_at: now - i };
                if i < 10_000 {
                    let org = format!("org_{:06}", i / 10);
                    let meta = CertificatePortalMeta { display_name: None, organisation_ids: [org.clone()].into() };
                    txn.open_table(tables::CERTIFICATE_PORTAL)?.insert(record.facts.id.as_str(), codec::encode(&meta)?.as_slice())?;
                    crate::references::add(txn, tables::ORGANISATION_CERTIFICATES, &[org], &record.facts.id)?;
                }
                put_record(txn, &record)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let cases: [(&str, CertificateFilter, CertificateSort); 6] = [
        ("no filter, by expiry, with the overview", CertificateFilter::default(), CertificateSort::Expiry),
        ("no filter, by name", CertificateFilter::default(), CertificateSort::Name),
        ("within 7 days, by expiry", CertificateFilter { expiry: Some(ExpiryBucket::Within7), ..Default::default() }, CertificateSort::Expiry),
        ("text 'organisation 99' (organisation names), by name", CertificateFilter { q: Some("organisation 99".into()), ..Default::default() }, CertificateSort::Name),
        ("usable, uploaded", CertificateFilter { usable: Some(true), ..Default::default() }, CertificateSort::Uploaded),
        ("one organisation (index)", CertificateFilter { organisation: Some("org_000500".into()), ..Default::default() }, CertificateSort::Expiry),
    ];
    for (what, filter, sort) in cases {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let found = s.certs.search(filter.clone(), sort, 50, 50, true).await.unwrap();
            times.push(started.elapsed());
            total = found.total;
        }
        times.sort();
        println!("search {what}: {total} match, median {:?}, slowest {:?}", times[2], times[4]);
    }
}

#[tokio::test]
async fn the_list_entry_agrees_with_the_policy_and_follows_the_portal_data() {
    let (s, pki, ids, zebra) = stocked().await;
    let now = clock::now();
    let mut specs = vec![LeafSpec::client("future").not_yet_valid(), LeafSpec::client("server-only").usage(certgate_testpki::Usage::ServerAuthOnly)];
    specs.push(LeafSpec::client("odd").with_unknown_critical_extension());
    let mut all = ids.clone();
    for spec in &specs {
        all.push(s.put(&pki.leaf(spec), now).await);
    }
    for id in &all {
        let entry = s.certs.get(id).await.unwrap();
        let listed = listed::Listed::of(&entry.record.facts, entry.record.added_at, &entry.meta);
        for at in [now, now - 90 * 86_400, now + 3 * 86_400, now + 500 * 86_400] {
            assert_eq!(listed.usable_at(at), pki::client_auth_problem(&entry.record.facts, at).is_none(), "{} at {at}", entry.label());
        }
    }
    // Renaming and unlinking rewrite the entry the search reads.
    s.certs.set_display_name(&ids[1], "Bravo renamed", "t").await.unwrap();
    s.certs.unlink_organisation(&ids[4], &zebra, "t").await.unwrap();
    let q = |text: &str| CertificateFilter { q: Some(text.into()), ..Default::default() };
    assert_eq!(s.labels(q("renamed"), CertificateSort::Name).await, ["Bravo renamed"]);
    assert!(s.labels(q("zebra"), CertificateSort::Name).await.is_empty());
}

#[tokio::test]
async fn an_entry_written_before_values_existed_reads_from_the_record_until_filled() {
    let (s, _pki, ids, _) = stocked().await;
    let filter = || CertificateFilter { q: Some("zebra".into()), usable: Some(true), ..Default::default() };
    let before = s.labels(filter(), CertificateSort::Name).await;
    assert_eq!(before, ["Echo box"]);
    // Empty every value, as a store of schema 4 (or a tool writing the tables) has them.
    let emptied = s
        .store
        .write(|txn| {
            let keys: Vec<String> = txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.iter()?.map(|i| i.map(|(k, _)| k.value().to_string())).collect::<Result<_, _>>()?;
            let mut index = txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?;
            for key in &keys {
                index.insert(key.as_str(), &[][..])?;
            }
            Ok(keys.len())
        })
        .await
        .unwrap();
    assert_eq!(emptied, 6);
    assert_eq!(s.labels(filter(), CertificateSort::Name).await, before, "read from the records");
    assert_eq!(s.labels(CertificateFilter::default(), CertificateSort::Uploaded).await.len(), 6);
    let filled = s.store.write(listed::fill_missing).await.unwrap();
    assert_eq!(filled, 6);
    assert_eq!(s.store.write(listed::fill_missing).await.unwrap(), 0, "nothing left to fill");
    assert_eq!(s.labels(filter(), CertificateSort::Name).await, before);
    let deleted = ids[4].clone();
    s.certs.unlink_organisation(&deleted, &s.orgs.list().await.unwrap()[0].id, "t").await.unwrap();
    s.certs.delete(&deleted, false, "t").await.unwrap();
    assert!(s.labels(CertificateFilter { q: Some("echo".into()), ..Default::default() }, CertificateSort::Name).await.is_empty(), "deleted: gone from the list");
}
