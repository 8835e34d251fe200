//! Traffic series: what the gateway did, per API and per app, over time (issue 12).
//!
//! The gateway counts in fixed-size rings in memory (certgate-gateway's `traffic`); this module
//! holds what is pure: the snapshot types the portal and the REST API read, the latency
//! histogram's bounds, merging, percentiles, status classes and window alignment, and the
//! [`TrafficSource`] trait the binary hands to the portal.
//!
//! - Per API: one bucket per minute for the last 24 hours ([`Window::Day`], 1,440 points) and one
//!   per hour for the last 30 days ([`Window::Month`], 720 points).
//! - Per app: one bucket per hour for the last 7 days ([`APP_SERIES_HOURS`] points).
//! - Last seen per certificate and API: when the certificate last authenticated there (passed
//!   the API's allow list), and how many such requests in the last 24 hours.
//!
//! A bucket holds requests by status class, denials by code and a latency histogram.
//! Percentiles cannot be merged; histograms can, so series keep histograms and p50/p95/p99
//! are derived from a (merged) histogram.

use serde::{Deserialize, Serialize};

use crate::gateway::DenialKind;
use crate::UnixSeconds;

/// Status classes counted: `2xx`, `3xx`, `4xx`, `5xx`.
pub const STATUS_CLASSES: usize = 4;
/// The classes' names, in the order of [`Bucket::requests`].
pub const STATUS_CLASS_NAMES: [&str; STATUS_CLASSES] = ["2xx", "3xx", "4xx", "5xx"];

/// The class index of an HTTP status. `1xx` counts as `2xx`: the only one the gateway answers
/// with is `101 Switching Protocols`, a protocol upgrade that succeeded. Anything outside
/// 100..=599 (never sent) counts as `5xx`.
pub fn status_class(status: u16) -> usize {
    match status {
        100..=299 => 0,
        300..=399 => 1,
        400..=499 => 2,
        _ => 3,
    }
}

/// Denial kinds counted, in the order of [`DenialKind::ALL`].
pub const DENIAL_KINDS: usize = DenialKind::ALL.len();

/// Upper bounds (inclusive, microseconds) of the latency histogram's buckets: 0.5 ms doubling up
/// to 8.192 s. One more bucket counts everything slower.
pub const LATENCY_BOUNDS_MICROS: [u64; 15] = {
    let mut bounds = [0u64; 15];
    let mut i = 0;
    while i < bounds.len() {
        bounds[i] = 500 << i;
        i += 1;
    }
    bounds
};
/// Buckets of the latency histogram: one per bound and one above the last.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MICROS.len() + 1;

/// The histogram bucket of a latency in microseconds.
pub fn latency_bucket(micros: u64) -> usize {
    if micros <= LATENCY_BOUNDS_MICROS[0] {
        return 0;
    }
    // (500 * 2^(i-1), 500 * 2^i] -> i: the bit length of (micros - 1) / 500.
    let q = (micros - 1) / LATENCY_BOUNDS_MICROS[0];
    let i = (u64::BITS - q.leading_zeros()) as usize;
    i.min(LATENCY_BUCKETS - 1)
}

/// Request latencies, counted in the buckets of [`LATENCY_BOUNDS_MICROS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    pub counts: [u64; LATENCY_BUCKETS],
}

/// A percentile read from a histogram: the upper bound of the bucket the rank falls in (so
/// "p95 ≤ 4 ms"), or, when it falls in the last bucket, the bound it is above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantile {
    AtMostMicros(u64),
    AboveMicros(u64),
}

/// p50, p95 and p99 of a histogram (`None` without requests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub p50: Option<Quantile>,
    pub p95: Option<Quantile>,
    pub p99: Option<Quantile>,
}

impl Histogram {
    pub fn observe(&mut self, micros: u64) {
        self.counts[latency_bucket(micros)] += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a = a.saturating_add(b);
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().fold(0u64, |sum, c| sum.saturating_add(*c))
    }

    /// The `per_mille`-th percentile (500 = p50, 990 = p99): the bucket holding the request of
    /// rank ceil(per_mille/1000 * count), reported by its upper bound. Not interpolated: a
    /// bucket's bound is a true statement ("at most"), an interpolated value is a guess.
    pub fn percentile(&self, per_mille: u32) -> Option<Quantile> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let per_mille = u128::from(per_mille.clamp(1, 1000));
        let rank = (u128::from(total) * per_mille).div_ceil(1000).max(1);
        let mut seen = 0u128;
        for (i, count) in self.counts.iter().enumerate() {
            seen += u128::from(*count);
            if seen >= rank {
                return Some(match LATENCY_BOUNDS_MICROS.get(i) {
                    Some(bound) => Quantile::AtMostMicros(*bound),
                    None => Quantile::AboveMicros(LATENCY_BOUNDS_MICROS[LATENCY_BOUNDS_MICROS.len() - 1]),
                });
            }
        }
        None
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary { p50: self.percentile(500), p95: self.percentile(950), p99: self.percentile(990) }
    }
}

/// What happened in one period (a minute or an hour) on one API or app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Requests answered, by status class (see [`status_class`]).
    pub requests: [u64; STATUS_CLASSES],
    /// Requests the gateway refused, by [`DenialKind::index`] (each is also counted in
    /// `requests`, by its status).
    pub denials: [u64; DENIAL_KINDS],
    /// Time from the request to the response's headers.
    pub latency: Histogram,
}

impl Bucket {
    /// Counts one request.
    pub fn observe(&mut self, status: u16, denial: Option<DenialKind>, latency_micros: u64) {
        self.requests[status_class(status)] += 1;
        if let Some(kind) = denial {
            self.denials[kind.index()] += 1;
        }
        self.latency.observe(latency_micros);
    }

    pub fn merge(&mut self, other: &Bucket) {
        for (a, b) in self.requests.iter_mut().zip(other.requests) {
            *a = a.saturating_add(b);
        }
        for (a, b) in self.denials.iter_mut().zip(other.denials) {
            *a = a.saturating_add(b);
        }
        self.latency.merge(&other.latency);
    }

    /// Requests in all classes.
    pub fn total(&self) -> u64 {
        self.requests.iter().fold(0u64, |sum, c| sum.saturating_add(*c))
    }

    /// Requests the gateway refused.
    pub fn denied(&self) -> u64 {
        self.denials.iter().fold(0u64, |sum, c| sum.saturating_add(*c))
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0 && self.denied() == 0 && self.latency.count() == 0
    }

    /// The denial codes with a count, e.g. `("credential_invalid", 3)`.
    pub fn denials_by_code(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DenialKind::ALL.iter().zip(self.denials).filter(|(_, n)| *n > 0).map(|(k, n)| (k.code(), n))
    }
}

/// The span and resolution of an API's series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// The last 24 hours, per minute: 1,440 points.
    Day,
    /// The last 30 days, per hour: 720 points.
    Month,
}

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
/// Minutes an API's per-minute series keeps (24 hours).
pub const API_MINUTES: usize = 1440;
/// Hours an API's per-hour series keeps (30 days).
pub const API_HOURS: usize = 720;
/// Hours an app's per-hour series keeps (7 days: enough for "this week", and an app series
/// stays small, so the cap on app series can be generous).
pub const APP_SERIES_HOURS: usize = 168;

impl Window {
    /// Seconds per point.
    pub fn step(self) -> i64 {
        match self {
            Window::Day => MINUTE,
            Window::Month => HOUR,
        }
    }

    pub fn points(self) -> usize {
        match self {
            Window::Day => API_MINUTES,
            Window::Month => API_HOURS,
        }
    }
}

/// The start of the period holding `at` (periods of `step` seconds, aligned on the epoch).
pub fn period_start(at: UnixSeconds, step: i64) -> UnixSeconds {
    at.div_euclid(step) * step
}

/// The first point's start of a series of `points` periods of `step` seconds whose last point
/// is the (current, partial) period holding `now`.
pub fn series_start(now: UnixSeconds, step: i64, points: usize) -> UnixSeconds {
    let back = i64::try_from(points.saturating_sub(1)).unwrap_or(0);
    period_start(now, step) - back * step
}

/// Points at a fixed step, oldest first, contiguous and zero-filled: `points[i]` covers
/// `[start + i * step, start + (i + 1) * step)`. The last point is the current period (partial).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// Unix seconds: the first point's start.
    pub start: UnixSeconds,
    /// Seconds per point (60 or 3600).
    pub step: i64,
    pub points: Vec<Bucket>,
}

impl Series {
    /// A series with nothing counted (an API without traffic yet).
    pub fn zeros(now: UnixSeconds, step: i64, points: usize) -> Series {
        Series { start: series_start(now, step, points), step, points: vec![Bucket::default(); points] }
    }

    /// Everything in the series merged into one bucket.
    pub fn total(&self) -> Bucket {
        let mut total = Bucket::default();
        for point in &self.points {
            total.merge(point);
        }
        total
    }
}

/// Sums since a moment, per API and per app (largest first by requests).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficTotals {
    /// Unix seconds: where the sums really start. APIs: the minute holding `since` within the
    /// last 24 hours, else the hour holding it. Apps: the hour holding it.
    pub since: UnixSeconds,
    pub apis: Vec<Total>,
    pub apps: Vec<Total>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    pub id: String,
    pub bucket: Bucket,
}

/// Sorts totals by requests, most first (ties by id, so the order is stable).
pub fn sort_totals(totals: &mut [Total]) {
    totals.sort_by(|a, b| b.bucket.total().cmp(&a.bucket.total()).then_with(|| a.id.cmp(&b.id)));
}

/// When a certificate last authenticated on an API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSeen {
    pub api_id: String,
    /// Unix seconds of the last request whose certificate passed the API's allow list.
    pub at: UnixSeconds,
    /// Such requests in the current hour and the 23 before it (23 to 24 hours).
    pub requests_24h: u64,
}

/// What the series cost in memory, and what the caps refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// Whether the gateway records at all (`--traffic-series off` turns it off).
    pub recording: bool,
    pub api_series: usize,
    pub bytes_per_api_series: usize,
    pub app_series: usize,
    pub app_series_cap: usize,
    pub bytes_per_app_series: usize,
    /// Requests of apps that got no series because the cap was reached (they are counted in
    /// their API's series all the same).
    pub app_requests_over_cap: u64,
    pub last_seen_entries: usize,
    pub last_seen_cap: usize,
    pub bytes_per_last_seen_entry: usize,
    /// Authenticated requests whose (certificate, API) pair got no entry: the cap was reached.
    pub last_seen_over_cap: u64,
    /// All of the above, in bytes (an estimate of the maps' own overhead included).
    pub total_bytes: usize,
}

/// Hours a last-seen entry counts requests over (the current one and the 23 before it).
pub const LAST_SEEN_HOURS: usize = 24;

/// What a save batch carries (and a start loads): only what changed since the last save.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficBatch {
    pub api_hours: Vec<ApiHour>,
    pub app_hours: Vec<AppHour>,
    pub last_seen: Vec<SeenPair>,
}

impl TrafficBatch {
    pub fn is_empty(&self) -> bool {
        self.api_hours.is_empty() && self.app_hours.is_empty() && self.last_seen.is_empty()
    }
}

/// One hour of one API: the hour's bucket and the minutes of it that had traffic (saved as one
/// record: a save writes the hours that changed, never a whole ring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiHour {
    pub api_id: String,
    /// Unix seconds: the hour's start.
    pub hour: UnixSeconds,
    pub total: Bucket,
    /// (minute of the hour 0..60, its bucket), minutes without traffic left out.
    pub minutes: Vec<(u8, Bucket)>,
}

/// One hour of one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHour {
    pub app_id: String,
    /// Unix seconds: the hour's start.
    pub hour: UnixSeconds,
    pub bucket: Bucket,
}

/// One certificate on one API: its last authentication and its requests per hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenPair {
    pub certificate_id: String,
    pub api_id: String,
    pub at: UnixSeconds,
    /// (Unix seconds of an hour's start, requests), hours without requests left out.
    pub hours: Vec<(UnixSeconds, u64)>,
}

/// The gateway's traffic, as the portal and the REST API read it. `now` is a parameter like
/// everywhere in core: series end at the period holding `now`.
pub trait TrafficSource: Send + Sync {
    /// An API's series for the window; `None` when the API has none (no traffic counted).
    fn api_series(&self, api_id: &str, window: Window, now: UnixSeconds) -> Option<Series>;
    /// An app's per-hour series over [`APP_SERIES_HOURS`]; `None` when it has none (no traffic,
    /// or refused by the cap).
    fn app_series(&self, app_id: &str, now: UnixSeconds) -> Option<Series>;
    /// Per-API and per-app sums since `since` (see [`TrafficTotals::since`] for the resolution).
    fn totals_since(&self, since: UnixSeconds, now: UnixSeconds) -> TrafficTotals;
    /// Per API, when this certificate last authenticated there, and how often in 24 hours;
    /// latest first (ties by API id).
    fn last_seen_of_certificate(&self, certificate_id: &str, now: UnixSeconds) -> Vec<LastSeen>;
    /// Every certificate seen, with its latest authentication over all APIs. A certificate not
    /// in the list has not authenticated since the series began ("never used").
    fn last_seen_all(&self) -> Vec<(String, UnixSeconds)>;
    fn memory(&self) -> MemoryReport;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_kinds_are_listed_once_in_declaration_order() {
        for (i, kind) in DenialKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind:?}");
            assert_eq!(DenialKind::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(DenialKind::from_code("nope"), None);
        assert_eq!(DENIAL_KINDS, 19);
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(101), 0, "an upgrade counts as a success");
        assert_eq!(status_class(200), 0);
        assert_eq!(status_class(299), 0);
        assert_eq!(status_class(304), 1);
        assert_eq!(status_class(404), 2);
        assert_eq!(status_class(429), 2);
        assert_eq!(status_class(500), 3);
        assert_eq!(status_class(504), 3);
        assert_eq!(status_class(0), 3);
        assert_eq!(status_class(999), 3);
    }

    #[test]
    fn latency_buckets_match_their_bounds() {
        assert_eq!(LATENCY_BOUNDS_MICROS[0], 500);
        assert_eq!(LATENCY_BOUNDS_MICROS[14], 8_192_000);
        for micros in [0, 1, 499, 500, 501, 999, 1000, 1001, 2000, 2001, 8_191_999, 8_192_000, 8_192_001, u64::MAX] {
            let expected = LATENCY_BOUNDS_MICROS.iter().position(|b| micros <= *b).unwrap_or(LATENCY_BUCKETS - 1);
            assert_eq!(latency_bucket(micros), expected, "{micros} µs");
        }
    }

    #[test]
    fn percentiles_are_the_upper_bound_of_the_bucket_holding_the_rank() {
        let mut h = Histogram::default();
        assert_eq!(h.percentile(500), None, "no requests, no percentile");
        // 90 fast (≤ 0.5 ms), 9 at 3 ms (≤ 4 ms), 1 at 20 s (above the last bound).
        for _ in 0..90 {
            h.observe(300);
        }
        for _ in 0..9 {
            h.observe(3_000);
        }
        h.observe(20_000_000);
        assert_eq!(h.count(), 100);
        assert_eq!(h.percentile(500), Some(Quantile::AtMostMicros(500)));
        assert_eq!(h.percentile(900), Some(Quantile::AtMostMicros(500)), "rank 90 is the last fast one");
        assert_eq!(h.percentile(950), Some(Quantile::AtMostMicros(4_000)));
        assert_eq!(h.percentile(990), Some(Quantile::AtMostMicros(4_000)), "rank 99");
        assert_eq!(h.percentile(1000), Some(Quantile::AboveMicros(8_192_000)));
        let s = h.summary();
        assert_eq!((s.p50, s.p95, s.p99), (h.percentile(500), h.percentile(950), h.percentile(990)));

        let mut one = Histogram::default();
        one.observe(1_500);
        assert_eq!(one.percentile(10), Some(Quantile::AtMostMicros(2_000)), "a lone request is every percentile");
        assert_eq!(one.percentile(990), Some(Quantile::AtMostMicros(2_000)));
    }

    #[test]
    fn merged_histograms_give_the_percentiles_of_all_requests() {
        // p99 of each half is fast; of the whole it is not: why series keep histograms.
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        for _ in 0..99 {
            a.observe(100);
        }
        a.observe(100_000);
        for _ in 0..50 {
            b.observe(100_000);
        }
        let mut merged = a;
        merged.merge(&b);
        assert_eq!(merged.count(), 150);
        assert_eq!(a.percentile(950), Some(Quantile::AtMostMicros(500)));
        assert_eq!(merged.percentile(950), Some(Quantile::AtMostMicros(128_000)));
        assert_eq!(merged.percentile(500), Some(Quantile::AtMostMicros(500)), "rank 75 of 150 is fast");

        let mut x = Bucket::default();
        x.observe(200, None, 100);
        x.observe(403, Some(DenialKind::ClientCertificateNotAllowed), 100);
        let mut y = Bucket::default();
        y.observe(401, Some(DenialKind::CredentialInvalid), 100);
        y.observe(502, Some(DenialKind::UpstreamUnavailable), 100);
        y.observe(301, None, 100);
        x.merge(&y);
        assert_eq!(x.requests, [1, 1, 2, 1]);
        assert_eq!(x.total(), 5);
        assert_eq!(x.denied(), 3);
        assert_eq!(
            x.denials_by_code().collect::<Vec<_>>(),
            [("client_certificate_not_allowed", 1), ("credential_invalid", 1), ("upstream_unavailable", 1)]
        );
        assert_eq!(x.latency.count(), 5);
        assert!(!x.is_empty());
        assert!(Bucket::default().is_empty());
    }

    #[test]
    fn windows_align_on_minutes_and_hours_and_end_at_now() {
        // 2026-02-14 10:30:15 UTC.
        let now = 1_771_065_015;
        assert_eq!(period_start(now, MINUTE), 1_771_065_000);
        assert_eq!(period_start(now, HOUR), 1_771_063_200);
        assert_eq!(period_start(-1, MINUTE), -60, "before the epoch rounds down too");
        let day = series_start(now, Window::Day.step(), Window::Day.points());
        assert_eq!(day, 1_771_065_000 - 1439 * 60);
        assert_eq!(day + 1440 * 60, 1_771_065_060, "the last point is the minute holding now");
        let month = series_start(now, Window::Month.step(), Window::Month.points());
        assert_eq!(month, 1_771_063_200 - 719 * 3600);
        let zeros = Series::zeros(now, HOUR, APP_SERIES_HOURS);
        assert_eq!(zeros.points.len(), 168);
        assert_eq!(zeros.start, 1_771_063_200 - 167 * 3600);
        assert!(zeros.total().is_empty());
    }

    #[test]
    fn totals_sort_by_requests_then_id() {
        let bucket = |n: u64| Bucket { requests: [n, 0, 0, 0], ..Bucket::default() };
        let mut totals = vec![
            Total { id: "b".into(), bucket: bucket(1) },
            Total { id: "c".into(), bucket: bucket(5) },
            Total { id: "a".into(), bucket: bucket(1) },
        ];
        sort_totals(&mut totals);
        assert_eq!(totals.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["c", "a", "b"]);
    }
}
