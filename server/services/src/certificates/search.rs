//! Finding certificates: the filters (text, organisation, kind, expiry bucket, usability), the
//! sort orders and pages of the admin's list, the REST list's expiry-ordered cursor pages, and
//! the expiry overview over the whole store.
//!
//! Filters are decided on the expiry order's entries ([`Listed`]: names, dates, usability and
//! portal data, without the DER); only the certificates of the page are loaded in full ("used
//! by", organisations, DER). An organisation filter reads that organisation's index instead.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::Deserialize;

use super::listed::Listed;
use super::{linked_to_organisation, load_entry, load_meta, load_record, CertificateEntry, Certificates};
use crate::organisations::OrganisationRecord;
use crate::store::codec;
use crate::store::tables;
use crate::{clock, ServiceError};

/// CA or leaf, for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    Ca,
    Leaf,
}

/// Where a certificate's expiry falls, in whole days left (as screens count them: a
/// certificate with 7 days and some hours left is "within 7 days").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryBucket {
    /// Its validity has ended.
    Expired,
    /// Not expired, at most 7 whole days left.
    Within7,
    /// Not expired, at most 30 whole days left (those within 7 included).
    Within30,
    /// More than 30 days left.
    Later,
}

impl ExpiryBucket {
    pub fn contains(self, not_after: UnixSeconds, now: UnixSeconds) -> bool {
        let days = days_left(not_after, now);
        match self {
            ExpiryBucket::Expired => days < 0,
            ExpiryBucket::Within7 => (0..=7).contains(&days),
            ExpiryBucket::Within30 => (0..=30).contains(&days),
            ExpiryBucket::Later => days > 30,
        }
    }
}

/// Whole days until `not_after` (negative once it has passed), as every screen counts them.
pub fn days_left(not_after: UnixSeconds, now: UnixSeconds) -> i64 {
    not_after.saturating_sub(now).div_euclid(86_400)
}

/// How recently a certificate authenticated on any API (the gateway's last-seen record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageFilter {
    /// Never authenticated since the gateway began recording.
    Never,
    /// Not in the last 30 days: last seen before that, or never (both are stale).
    NotFor30Days,
}

/// Days without use after which a certificate counts as stale.
pub const STALE_AFTER_DAYS: i64 = 30;

impl UsageFilter {
    /// Whether a certificate last seen at `last_seen` (`None`: never) passes at `now`. Pure.
    pub fn contains(self, last_seen: Option<UnixSeconds>, now: UnixSeconds) -> bool {
        match (self, last_seen) {
            (_, None) => true,
            (UsageFilter::Never, Some(_)) => false,
            (UsageFilter::NotFor30Days, Some(at)) => at < now.saturating_sub(STALE_AFTER_DAYS * 86_400),
        }
    }
}

/// When each certificate last authenticated on any API, by id (from the gateway; absent:
/// never). Shared: the list's filter and sort read it, nobody writes it.
pub type LastSeenMap = Arc<HashMap<String, UnixSeconds>>;

/// The order of the admin's list. Ties are broken by id, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CertificateSort {
    /// By label (portal name, CN or subject), A to Z, case-insensitive.
    Name,
    /// Soonest expiry first.
    #[default]
    Expiry,
    /// Most recently uploaded first.
    Uploaded,
    /// Least recently used first: never used, then the longest unused; CAs (not recorded) last.
    LastUsed,
}

/// Listing filters; all optional, combined with AND.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateFilter {
    pub organisation: Option<String>,
    /// Expiring within this many days from now (already expired ones included).
    pub expiring_within_days: Option<i64>,
    pub kind: Option<CertificateKind>,
    /// Case-insensitive text in the label, subject (and so its CN), issuer or a linked
    /// organisation's name; or the start of the fingerprint (hex or colon form).
    pub q: Option<String>,
    #[serde(skip)]
    pub expiry: Option<ExpiryBucket>,
    /// Usable for client authentication now (the one policy), or not.
    #[serde(skip)]
    pub usable: Option<bool>,
    /// Ids left out (the allow-list editor's search leaves out what is already on the list).
    #[serde(skip)]
    pub exclude: BTreeSet<String>,
    #[serde(skip)]
    pub usage: Option<UsageFilter>,
    /// What `usage` and the last-used sort read; without it every certificate is "never used".
    #[serde(skip)]
    pub last_seen: Option<LastSeenMap>,
}

impl CertificateFilter {
    /// Whether a certificate passes every filter but the text at `now`. Pure.
    pub(crate) fn matches_listed(&self, c: &Listed, now: UnixSeconds) -> bool {
        if self.exclude.contains(&c.id) {
            return false;
        }
        if self.organisation.as_ref().is_some_and(|org| !c.organisation_ids.contains(org)) {
            return false;
        }
        if !self.matches_expiry(c.not_after, now) {
            return false;
        }
        match self.kind {
            Some(CertificateKind::Ca) if !c.is_ca => return false,
            Some(CertificateKind::Leaf) if c.is_ca => return false,
            _ => {}
        }
        if self.usable.is_some_and(|usable| usable != c.usable_at(now)) {
            return false;
        }
        // A CA's use is not recorded (the gateway records the pinned leaves it admits), so it
        // is never offered as unused.
        self.usage.is_none_or(|usage| !c.is_ca && usage.contains(self.last_seen_of(&c.id), now))
    }

    /// When the certificate `id` last authenticated, if it ever did.
    pub fn last_seen_of(&self, id: &str) -> Option<UnixSeconds> {
        self.last_seen.as_ref().and_then(|seen| seen.get(id).copied())
    }

    /// Whether only the expiry filters are set: the expiry order's keys answer alone.
    fn by_expiry_only(&self) -> bool {
        self.organisation.is_none()
            && self.kind.is_none()
            && self.usable.is_none()
            && self.usage.is_none()
            && self.text().is_none()
            && self.exclude.is_empty()
    }

    /// The expiry filters, on an expiry time.
    fn matches_expiry(&self, not_after: UnixSeconds, now: UnixSeconds) -> bool {
        self.expiring_within_days.is_none_or(|days| not_after <= now.saturating_add(days.saturating_mul(86_400)))
            && self.expiry.is_none_or(|bucket| bucket.contains(not_after, now))
    }

    /// The text filter, if any: the trimmed, lowercased query.
    fn text(&self) -> Option<String> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase)
    }

    /// Whether a certificate passes the text filter (`q` lowercased), given the names of its
    /// organisations. Pure.
    pub(crate) fn matches_text(q: &str, c: &Listed, organisation_names: &[String]) -> bool {
        let fields = [c.subject.as_str(), c.issuer.as_str(), c.display_name.as_deref().unwrap_or("")];
        if fields.into_iter().chain(organisation_names.iter().map(String::as_str)).any(|f| f.to_lowercase().contains(q)) {
            return true;
        }
        // A fingerprint is matched from its start only: two hex digits would be in most of them.
        let hex: String = q.chars().filter(|c| *c != ':').collect();
        !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) && c.id.starts_with(&hex)
    }
}

/// Counts by expiry over the whole store, and expiries per month for the next 12 months
/// (month `i` holds those with `i * 30.44` to `(i + 1) * 30.44` days left).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiryOverview {
    pub total: usize,
    pub expired: usize,
    pub within_7: usize,
    pub within_30: usize,
    pub later: usize,
    pub months: [usize; 12],
}

/// One page of the admin's list: its certificates, how many match in all, and the overview.
#[derive(Debug, Clone)]
pub struct CertificateSearch {
    pub entries: Vec<CertificateEntry>,
    /// Certificates matching the filters, on every page.
    pub total: usize,
    pub overview: ExpiryOverview,
}

/// Organisation names, read once each per transaction, and only when the text filter needs them.
struct OrganisationNames<T> {
    table: T,
    names: HashMap<String, String>,
}

impl<T: ReadableTable<&'static str, &'static [u8]>> OrganisationNames<T> {
    fn of(&mut self, ids: &BTreeSet<String>) -> Result<Vec<String>, ServiceError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if !self.names.contains_key(id) {
                let name = match self.table.get(id.as_str())? {
                    Some(v) => codec::decode::<OrganisationRecord>("organisations", id, v.value())?.name,
                    None => String::new(),
                };
                self.names.insert(id.clone(), name);
            }
            out.extend(self.names.get(id).cloned());
        }
        Ok(out)
    }
}

/// Decides the text filter, reading organisation names once each, only when it is set.
struct Matcher<'a> {
    filter: &'a CertificateFilter,
    q: Option<String>,
    now: UnixSeconds,
    names: OrganisationNames<redb::ReadOnlyTable<&'static str, &'static [u8]>>,
}

impl<'a> Matcher<'a> {
    fn new(txn: &redb::ReadTransaction, filter: &'a CertificateFilter, now: UnixSeconds) -> Result<Matcher<'a>, ServiceError> {
        let names = OrganisationNames { table: txn.open_table(tables::ORGANISATIONS)?, names: HashMap::new() };
        Ok(Matcher { filter, q: filter.text(), now, names })
    }

    fn passes(&mut self, c: &Listed) -> Result<bool, ServiceError> {
        if !self.filter.matches_listed(c, self.now) {
            return Ok(false);
        }
        match &self.q {
            Some(q) => {
                let names = self.names.of(&c.organisation_ids)?;
                Ok(CertificateFilter::matches_text(q, c, &names))
            }
            None => Ok(true),
        }
    }
}

/// The certificates a filter can match: an organisation's from its index (read from their
/// records: a handful), else every entry of the expiry order.
fn candidates(txn: &redb::ReadTransaction, filter: &CertificateFilter) -> Result<Vec<Listed>, ServiceError> {
    let certificates = txn.open_table(tables::CERTIFICATES)?;
    let portal = txn.open_table(tables::CERTIFICATE_PORTAL)?;
    let mut out = Vec::new();
    match &filter.organisation {
        Some(org) => {
            for id in linked_to_organisation(&txn.open_table(tables::ORGANISATION_CERTIFICATES)?, org)? {
                if let Some(record) = load_record(&certificates, &id)? {
                    out.push(Listed::of(&record.facts, record.added_at, &load_meta(&portal, &id)?));
                }
            }
        }
        None => {
            for item in txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.iter()? {
                let (k, v) = item?;
                out.extend(Listed::read(k.value(), v.value(), &certificates, &portal)?);
            }
        }
    }
    Ok(out)
}

/// The overview, from the expiry order's keys alone (no record is read).
pub(crate) fn overview(txn: &redb::ReadTransaction, now: UnixSeconds) -> Result<ExpiryOverview, ServiceError> {
    let mut o = ExpiryOverview::default();
    for item in txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.iter()? {
        let (k, _) = item?;
        let Some(not_after) = super::indexes::expiry_of_key(k.value()) else { continue };
        let days = days_left(not_after, now);
        o.total += 1;
        match days {
            d if d < 0 => o.expired += 1,
            d if d > 30 => o.later += 1,
            _ => {}
        }
        o.within_7 += usize::from((0..=7).contains(&days));
        o.within_30 += usize::from((0..=30).contains(&days));
        if days >= 0 {
            // Integer arithmetic: 30.44 days a month.
            let month = days.saturating_mul(100) / 3044;
            if let Some(n) = usize::try_from(month).ok().and_then(|m| o.months.get_mut(m)) {
                *n += 1;
            }
        }
    }
    Ok(o)
}

/// A search with expiry filters only, soonest expiry first: the expiry order's keys say
/// everything but the page's own certificates, so no other record is read.
fn search_by_expiry(
    txn: &redb::ReadTransaction,
    filter: &CertificateFilter,
    offset: usize,
    limit: usize,
    with_overview: bool,
    now: UnixSeconds,
) -> Result<CertificateSearch, ServiceError> {
    let (mut total, mut ids) = (0usize, Vec::new());
    for item in txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.iter()? {
        let (k, _) = item?;
        let key = k.value();
        let (Some(not_after), Some((_, id))) = (super::indexes::expiry_of_key(key), key.split_once(':')) else { continue };
        if !filter.matches_expiry(not_after, now) {
            continue;
        }
        if total >= offset && ids.len() < limit {
            ids.push(id.to_string());
        }
        total += 1;
    }
    let table = txn.open_table(tables::CERTIFICATES)?;
    let mut entries = Vec::new();
    for id in ids {
        if let Some(record) = load_record(&table, &id)? {
            entries.push(load_entry(txn, record)?);
        }
    }
    let overview = if with_overview { overview(txn, now)? } else { ExpiryOverview::default() };
    Ok(CertificateSearch { entries, total, overview })
}

impl Certificates {
    /// Every certificate passing `filter`, soonest expiry first.
    pub async fn list(&self, filter: CertificateFilter) -> Result<Vec<CertificateEntry>, ServiceError> {
        Ok(self.page(filter, None, usize::MAX).await?.0)
    }

    /// The certificates passing `filter` in `sort` order, `limit` of them from `offset`, with
    /// how many match in all and (with `with_overview`) the expiry overview of the whole
    /// store, in one read transaction.
    pub async fn search(
        &self,
        filter: CertificateFilter,
        sort: CertificateSort,
        offset: usize,
        limit: usize,
        with_overview: bool,
    ) -> Result<CertificateSearch, ServiceError> {
        let now = clock::now();
        self.store
            .read(move |txn| {
                if sort == CertificateSort::Expiry && filter.by_expiry_only() {
                    return search_by_expiry(txn, &filter, offset, limit, with_overview, now);
                }
                let mut matcher = Matcher::new(txn, &filter, now)?;
                let mut hits = Vec::new();
                for c in candidates(txn, &filter)? {
                    if matcher.passes(&c)? {
                        hits.push(c);
                    }
                }
                let by_id = |a: &Listed, b: &Listed| a.id.cmp(&b.id);
                match sort {
                    CertificateSort::Name => {
                        let mut keyed: Vec<(String, Listed)> = hits.into_iter().map(|c| (c.label().to_lowercase(), c)).collect();
                        keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| by_id(&a.1, &b.1)));
                        hits = keyed.into_iter().map(|(_, c)| c).collect();
                    }
                    CertificateSort::Expiry => hits.sort_by(|a, b| a.not_after.cmp(&b.not_after).then_with(|| by_id(a, b))),
                    CertificateSort::Uploaded => hits.sort_by(|a, b| b.added_at.cmp(&a.added_at).then_with(|| by_id(a, b))),
                    // `None` (never) sorts before any time.
                    CertificateSort::LastUsed => hits.sort_by(|a, b| {
                        (a.is_ca, filter.last_seen_of(&a.id)).cmp(&(b.is_ca, filter.last_seen_of(&b.id))).then_with(|| by_id(a, b))
                    }),
                }
                let table = txn.open_table(tables::CERTIFICATES)?;
                let mut entries = Vec::new();
                for c in hits.iter().skip(offset).take(limit) {
                    if let Some(record) = load_record(&table, &c.id)? {
                        entries.push(load_entry(txn, record)?);
                    }
                }
                let overview = if with_overview { overview(txn, now)? } else { ExpiryOverview::default() };
                Ok(CertificateSearch { entries, total: hits.len(), overview })
            })
            .await
    }

    /// Up to `limit` certificates passing `filter`, soonest expiry first, after the expiry key
    /// `after` ([`expiry_key`] of the last one of the previous page); and whether more follow.
    /// Read from the expiry order only until the page is full (an organisation's certificates
    /// from its index).
    pub async fn page(&self, filter: CertificateFilter, after: Option<String>, limit: usize) -> Result<(Vec<CertificateEntry>, bool), ServiceError> {
        let now = clock::now();
        self.store
            .read(move |txn| {
                let table = txn.open_table(tables::CERTIFICATES)?;
                let portal = txn.open_table(tables::CERTIFICATE_PORTAL)?;
                let mut matcher = Matcher::new(txn, &filter, now)?;
                let (mut out, mut more) = (Vec::new(), false);
                // Takes one certificate if it passes; false once the page is full.
                let mut take = |c: &Listed| -> Result<bool, ServiceError> {
                    if !matcher.passes(c)? {
                        return Ok(true);
                    }
                    if out.len() >= limit {
                        more = true;
                        return Ok(false);
                    }
                    if let Some(record) = load_record(&table, &c.id)? {
                        out.push(load_entry(txn, record)?);
                    }
                    Ok(true)
                };
                if filter.organisation.is_some() {
                    let mut keyed: Vec<(String, Listed)> = candidates(txn, &filter)?
                        .into_iter()
                        .map(|c| (super::indexes::expiry_key_of(c.not_after, &c.id), c))
                        .collect();
                    keyed.sort_by(|a, b| a.0.cmp(&b.0));
                    for (_, c) in keyed.iter().filter(|(k, _)| after.as_deref().is_none_or(|a| k.as_str() > a)) {
                        if !take(c)? {
                            break;
                        }
                    }
                } else {
                    // '\u{1}' sorts right after the key: the page starts after it.
                    let from = after.as_ref().map(|a| format!("{a}\u{1}")).unwrap_or_default();
                    for item in txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.range(from.as_str()..)? {
                        let (k, v) = item?;
                        let Some(c) = Listed::read(k.value(), v.value(), &table, &portal)? else { continue };
                        if !take(&c)? {
                            break;
                        }
                    }
                }
                Ok((out, more))
            })
            .await
    }
}
