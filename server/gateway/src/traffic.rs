//! Traffic series in memory (no external database): per API a ring of 1,440 minutes and one of
//! 720 hours, per app a ring of 168 hours (allocated on the app's first request, refused beyond
//! a global cap), and per (certificate, API) when the certificate last authenticated there.
//!
//! Bounded whatever the traffic: rings are fixed-size and slots are reused; app series and
//! last-seen entries are capped. The request path takes no lock but a slot's rollover lock (once
//! per minute or hour per series) and allocates only for a new API, app or pair.
//!
//! A slot holds the period it counts; a request for a later period empties it first (under the
//! ring's rollover lock, so an emptied slot is never counted twice). Counters are u32: a slot
//! holds up to 4.29e9 requests (an hour: 1.19 million requests per second on one API).
//!
//! Saving: an hour slot that changed is marked dirty; [`Traffic::take_changed`] returns those
//! hours (with their minutes) and the last-seen entries that changed, and clears the marks. The
//! binary saves them with the quota batches and loads them at start ([`Traffic::load`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use certgate_core::gateway::compact_id::CompactId;
use certgate_core::gateway::DenialKind;
use certgate_core::traffic::{
    latency_bucket, period_start, series_start, sort_totals, status_class, ApiHour, AppHour, Bucket, LastSeen, MemoryReport,
    SeenPair, Series, Total, TrafficBatch, TrafficSource, TrafficTotals, Window, API_HOURS, API_MINUTES, APP_SERIES_HOURS,
    DENIAL_KINDS, HOUR, LAST_SEEN_HOURS, LATENCY_BUCKETS, MINUTE, STATUS_CLASSES,
};
use certgate_core::UnixSeconds;
use dashmap::DashMap;

/// Caps and the on/off switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficConfig {
    /// Off: recording is a no-op (`--traffic-series off`, for benchmarks).
    pub recording: bool,
    /// App series at most (about 27 KB each).
    pub app_series_cap: usize,
    /// (certificate, API) last-seen entries at most (about 250 bytes each).
    pub last_seen_cap: usize,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig { recording: true, app_series_cap: 1_000, last_seen_cap: 50_000 }
    }
}

/// One period's counters.
#[derive(Default)]
struct Slot {
    /// The period counted here (minutes or hours since the epoch); 0: never used.
    period: AtomicU32,
    /// Counted since the last save (hour slots; the save writes the hour with its minutes).
    dirty: AtomicBool,
    requests: [AtomicU32; STATUS_CLASSES],
    denials: [AtomicU32; DENIAL_KINDS],
    latency: [AtomicU32; LATENCY_BUCKETS],
}

fn counters(slot: &Slot) -> impl Iterator<Item = &AtomicU32> {
    slot.requests.iter().chain(&slot.denials).chain(&slot.latency)
}

impl Slot {
    fn snapshot(&self) -> Bucket {
        let mut bucket = Bucket::default();
        let read = |to: &mut [u64], from: &[AtomicU32]| to.iter_mut().zip(from).for_each(|(t, f)| *t = u64::from(f.load(Ordering::Relaxed)));
        read(&mut bucket.requests, &self.requests);
        read(&mut bucket.denials, &self.denials);
        read(&mut bucket.latency.counts, &self.latency);
        bucket
    }

    fn add(&self, bucket: &Bucket) {
        let add = |to: &[AtomicU32], from: &[u64]| {
            to.iter().zip(from).for_each(|(t, f)| {
                t.fetch_add(u32::try_from(*f).unwrap_or(u32::MAX), Ordering::Relaxed);
            })
        };
        add(&self.requests, &bucket.requests);
        add(&self.denials, &bucket.denials);
        add(&self.latency, &bucket.latency.counts);
    }
}

/// A fixed number of periods, the oldest overwritten by the newest.
struct Ring {
    slots: Box<[Slot]>,
    rollover: Mutex<()>,
}

/// One request, as the rings count it.
#[derive(Clone, Copy)]
struct Observation {
    class: usize,
    denial: Option<usize>,
    latency: usize,
}

impl Ring {
    fn new(len: usize) -> Ring {
        Ring { slots: (0..len).map(|_| Slot::default()).collect(), rollover: Mutex::new(()) }
    }

    fn bytes(len: usize) -> usize {
        std::mem::size_of::<Ring>() + len * std::mem::size_of::<Slot>()
    }

    fn slot_of(&self, period: u32) -> &Slot {
        &self.slots[period as usize % self.slots.len()]
    }

    /// The slot counting `period`, emptied first if it counted an older one; `None` if it
    /// counts a newer one (the clock went back by more than the ring's span).
    fn claim(&self, period: u32) -> Option<&Slot> {
        let slot = self.slot_of(period);
        let held = slot.period.load(Ordering::Acquire);
        if held == period {
            return Some(slot);
        }
        if held > period {
            return None;
        }
        let _rolling = self.rollover.lock().unwrap_or_else(PoisonError::into_inner);
        let held = slot.period.load(Ordering::Acquire);
        if held > period {
            return None;
        }
        if held < period {
            counters(slot).for_each(|c| c.store(0, Ordering::Relaxed));
            slot.dirty.store(false, Ordering::Relaxed);
            // Release: whoever sees the new period sees the emptied counters.
            slot.period.store(period, Ordering::Release);
        }
        Some(slot)
    }

    /// Counts one request; the slot it went to, if any.
    fn record(&self, period: u32, seen: Observation) -> Option<&Slot> {
        let slot = self.claim(period)?;
        slot.requests[seen.class].fetch_add(1, Ordering::Relaxed);
        if let Some(denial) = seen.denial {
            slot.denials[denial].fetch_add(1, Ordering::Relaxed);
        }
        slot.latency[seen.latency].fetch_add(1, Ordering::Relaxed);
        Some(slot)
    }

    /// What `period` counted, if the ring still holds it.
    fn read(&self, period: u32) -> Option<Bucket> {
        let slot = self.slot_of(period);
        if slot.period.load(Ordering::Acquire) != period {
            return None;
        }
        let bucket = slot.snapshot();
        // Reused for a newer period while being read: what was read is not this period's.
        (slot.period.load(Ordering::Acquire) == period).then_some(bucket)
    }

    /// `points` periods ending with `last`, oldest first, zero where the ring holds nothing.
    fn series(&self, last: u32, points: usize) -> Vec<Bucket> {
        let first = i64::from(last) - i64::try_from(points).unwrap_or(0) + 1;
        (first..=i64::from(last)).map(|p| u32::try_from(p).ok().and_then(|p| self.read(p)).unwrap_or_default()).collect()
    }

    /// Everything from `first` to `last` merged.
    fn sum(&self, first: u32, last: u32) -> Bucket {
        let mut total = Bucket::default();
        for period in first..=last {
            if let Some(bucket) = self.read(period) {
                total.merge(&bucket);
            }
        }
        total
    }
}

/// Minutes or hours since the epoch as a ring period (`None` before 1970 or after ~10,000).
fn period(now: UnixSeconds, step: i64) -> Option<u32> {
    u32::try_from(now.div_euclid(step)).ok()
}

fn period_seconds(period: u32, step: i64) -> UnixSeconds {
    i64::from(period) * step
}

struct ApiSeries {
    id: Arc<str>,
    /// This API's number in last-seen keys (a key per pair stays small and copyable).
    index: u32,
    minutes: Ring,
    hours: Ring,
}

struct AppSeries {
    hours: Ring,
}

/// A certificate's use of one API.
struct SeenEntry {
    /// Unix seconds of its last authentication.
    at: AtomicI64,
    /// Per hour slot (hour % 24): `hour << 32 | requests` (one word: no reset race).
    hours: [AtomicU64; LAST_SEEN_HOURS],
    dirty: AtomicBool,
}

impl SeenEntry {
    fn new() -> SeenEntry {
        SeenEntry { at: AtomicI64::new(0), hours: Default::default(), dirty: AtomicBool::new(false) }
    }

    fn record(&self, now: UnixSeconds, hour: u32) {
        if self.at.load(Ordering::Relaxed) < now {
            self.at.fetch_max(now, Ordering::Relaxed);
        }
        let slot = &self.hours[hour as usize % LAST_SEEN_HOURS];
        let _ = slot.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
            let held = (word >> 32) as u32;
            match held.cmp(&hour) {
                std::cmp::Ordering::Equal => Some((u64::from(hour) << 32) | (word & u64::from(u32::MAX)).saturating_add(1).min(u64::from(u32::MAX))),
                std::cmp::Ordering::Less => Some((u64::from(hour) << 32) | 1),
                // A newer hour holds the slot (the clock went back a day): not counted.
                std::cmp::Ordering::Greater => None,
            }
        });
        if !self.dirty.load(Ordering::Relaxed) {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// (hour, requests) of the last 24 hours up to `current`.
    fn hours(&self, current: u32) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.hours.iter().filter_map(move |slot| {
            let word = slot.load(Ordering::Relaxed);
            let hour = (word >> 32) as u32;
            let count = word & u64::from(u32::MAX);
            (count > 0 && hour <= current && current - hour < LAST_SEEN_HOURS as u32).then_some((hour, count))
        })
    }
}

/// (SHA-256 of the certificate, API number).
type SeenKey = ([u8; 32], u32);

/// The certificate id (64 lowercase hex digits) as bytes.
pub fn certificate_digest(id: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(id, &mut digest).ok()?;
    Some(digest)
}

/// The gateway's traffic series.
pub struct Traffic {
    config: TrafficConfig,
    /// Read per request without a lock; replaced (copy, insert, swap) for a new API.
    apis: ArcSwap<HashMap<Arc<str>, Arc<ApiSeries>>>,
    apps: ArcSwap<HashMap<CompactId, Arc<AppSeries>>>,
    /// Serialises replacing `apis` or `apps`, and numbering APIs.
    grow: Mutex<Vec<Arc<str>>>,
    last_seen: DashMap<SeenKey, SeenEntry>,
    app_requests_over_cap: AtomicU64,
    last_seen_over_cap: AtomicU64,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic::new(TrafficConfig::default())
    }
}

/// What [`Traffic::record`] counts.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub api_id: &'a str,
    pub status: u16,
    pub denial: Option<DenialKind>,
    pub elapsed: Duration,
    /// A portal credential's app, when known.
    pub app: Option<&'a CompactId>,
    /// The certificate's SHA-256, when it passed the API's allow list (authenticated).
    pub certificate: Option<&'a [u8; 32]>,
    pub now: UnixSeconds,
}

impl Traffic {
    pub fn new(config: TrafficConfig) -> Traffic {
        Traffic {
            config,
            apis: ArcSwap::from_pointee(HashMap::new()),
            apps: ArcSwap::from_pointee(HashMap::new()),
            grow: Mutex::new(Vec::new()),
            last_seen: DashMap::new(),
            app_requests_over_cap: AtomicU64::new(0),
            last_seen_over_cap: AtomicU64::new(0),
        }
    }

    pub fn recording(&self) -> bool {
        self.config.recording
    }

    /// Counts one answered request.
    pub fn record(&self, request: Request<'_>) {
        if !self.config.recording {
            return;
        }
        let (Some(minute), Some(hour)) = (period(request.now, MINUTE), period(request.now, HOUR)) else { return };
        let micros = u64::try_from(request.elapsed.as_micros()).unwrap_or(u64::MAX);
        let seen = Observation {
            class: status_class(request.status),
            denial: request.denial.map(DenialKind::index),
            latency: latency_bucket(micros),
        };
        // Counted through the map's guard: cloning the series' Arc would be two more atomic
        // writes per request on a line every core shares.
        let apis = self.apis.load();
        let created;
        let api: &ApiSeries = match apis.get(request.api_id) {
            Some(api) => api.as_ref(),
            None => {
                created = self.api(request.api_id);
                created.as_ref()
            }
        };
        api.minutes.record(minute, seen);
        mark_dirty(api.hours.record(hour, seen));
        if let Some(app_id) = request.app {
            let apps = self.apps.load();
            match apps.get(app_id) {
                Some(app) => mark_dirty(app.hours.record(hour, seen)),
                None => match self.app(app_id) {
                    Some(app) => mark_dirty(app.hours.record(hour, seen)),
                    None => {
                        self.app_requests_over_cap.fetch_add(1, Ordering::Relaxed);
                    }
                },
            }
        }
        if let Some(certificate) = request.certificate {
            self.record_seen((*certificate, api.index), request.now, hour);
        }
    }

    fn api(&self, id: &str) -> Arc<ApiSeries> {
        if let Some(api) = self.apis.load().get(id) {
            return Arc::clone(api);
        }
        let mut ids = self.grow.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.apis.load_full();
        if let Some(api) = current.get(id) {
            return Arc::clone(api);
        }
        let id: Arc<str> = Arc::from(id);
        let index = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        ids.push(Arc::clone(&id));
        let api = Arc::new(ApiSeries { id: Arc::clone(&id), index, minutes: Ring::new(API_MINUTES), hours: Ring::new(API_HOURS) });
        let mut next = HashMap::clone(&current);
        next.insert(id, Arc::clone(&api));
        self.apis.store(Arc::new(next));
        api
    }

    /// The app's series, made on its first request while under the cap.
    fn app(&self, id: &CompactId) -> Option<Arc<AppSeries>> {
        let current = self.apps.load();
        if let Some(app) = current.get(id) {
            return Some(Arc::clone(app));
        }
        if current.len() >= self.config.app_series_cap {
            return None;
        }
        drop(current);
        let _grow = self.grow.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.apps.load_full();
        if let Some(app) = current.get(id) {
            return Some(Arc::clone(app));
        }
        if current.len() >= self.config.app_series_cap {
            return None;
        }
        let app = Arc::new(AppSeries { hours: Ring::new(APP_SERIES_HOURS) });
        let mut next = HashMap::clone(&current);
        next.insert(id.clone(), Arc::clone(&app));
        self.apps.store(Arc::new(next));
        Some(app)
    }

    fn record_seen(&self, key: SeenKey, now: UnixSeconds, hour: u32) {
        if let Some(entry) = self.last_seen.get(&key) {
            entry.record(now, hour);
            return;
        }
        // The cap is checked before inserting: concurrent first requests may pass it by a few.
        if self.last_seen.len() >= self.config.last_seen_cap {
            self.last_seen_over_cap.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.last_seen.entry(key).or_insert_with(SeenEntry::new).record(now, hour);
    }

    /// What changed since the last call (hours of APIs and apps, last-seen entries), marked
    /// clean: the binary saves it.
    pub fn take_changed(&self) -> TrafficBatch {
        let mut batch = TrafficBatch::default();
        for api in self.apis.load().values() {
            for slot in api.hours.slots.iter() {
                if !slot.dirty.load(Ordering::Relaxed) || !slot.dirty.swap(false, Ordering::AcqRel) {
                    continue;
                }
                let hour = slot.period.load(Ordering::Acquire);
                let Some(total) = api.hours.read(hour) else { continue };
                let first_minute = hour.saturating_mul(60);
                let minutes = (0..60u8)
                    .filter_map(|m| api.minutes.read(first_minute + u32::from(m)).filter(|b| !b.is_empty()).map(|b| (m, b)))
                    .collect();
                batch.api_hours.push(ApiHour { api_id: api.id.to_string(), hour: period_seconds(hour, HOUR), total, minutes });
            }
        }
        for (id, app) in self.apps.load().iter() {
            for slot in app.hours.slots.iter() {
                if !slot.dirty.load(Ordering::Relaxed) || !slot.dirty.swap(false, Ordering::AcqRel) {
                    continue;
                }
                let hour = slot.period.load(Ordering::Acquire);
                if let Some(bucket) = app.hours.read(hour) {
                    batch.app_hours.push(AppHour { app_id: id.as_string(), hour: period_seconds(hour, HOUR), bucket });
                }
            }
        }
        let ids = self.grow.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for entry in self.last_seen.iter() {
            if !entry.dirty.load(Ordering::Relaxed) || !entry.dirty.swap(false, Ordering::AcqRel) {
                continue;
            }
            let (digest, index) = *entry.key();
            let Some(api_id) = ids.get(index as usize) else { continue };
            let at = entry.at.load(Ordering::Relaxed);
            let current = period(at, HOUR).unwrap_or(0);
            batch.last_seen.push(SeenPair {
                certificate_id: hex::encode(digest),
                api_id: api_id.to_string(),
                at,
                hours: entry.hours(current).map(|(h, n)| (period_seconds(h, HOUR), n)).collect(),
            });
        }
        batch
    }

    /// Marks a batch changed again after its save failed (the next batch retries it).
    pub fn retry(&self, batch: &TrafficBatch) {
        let apis = self.apis.load();
        for chunk in &batch.api_hours {
            if let (Some(api), Some(hour)) = (apis.get(chunk.api_id.as_str()), period(chunk.hour, HOUR)) {
                redirty(&api.hours, hour);
            }
        }
        let apps = self.apps.load();
        for chunk in &batch.app_hours {
            if let (Some(app), Some(hour)) = (apps.get(&CompactId::new(&chunk.app_id)), period(chunk.hour, HOUR)) {
                redirty(&app.hours, hour);
            }
        }
        for pair in &batch.last_seen {
            let (Some(digest), Some(api)) = (certificate_digest(&pair.certificate_id), apis.get(pair.api_id.as_str())) else { continue };
            if let Some(entry) = self.last_seen.get(&(digest, api.index)) {
                entry.dirty.store(true, Ordering::Release);
            }
        }
    }

    /// Loads saved series (at start, before serving): what is still inside the rings' spans at
    /// `now` goes in; nothing loaded is dirty.
    pub fn load(&self, saved: TrafficBatch, now: UnixSeconds) {
        let (Some(minute_now), Some(hour_now)) = (period(now, MINUTE), period(now, HOUR)) else { return };
        let inside = |p: u32, current: u32, span: usize| p <= current && ((current - p) as usize) < span;
        for chunk in saved.api_hours {
            let Some(hour) = period(chunk.hour, HOUR) else { continue };
            if !inside(hour, hour_now, API_HOURS) {
                continue;
            }
            let api = self.api(&chunk.api_id);
            if let Some(slot) = api.hours.claim(hour) {
                slot.add(&chunk.total);
            }
            for (m, bucket) in chunk.minutes.iter().filter(|(m, _)| *m < 60) {
                let minute = hour.saturating_mul(60) + u32::from(*m);
                if inside(minute, minute_now, API_MINUTES) {
                    if let Some(slot) = api.minutes.claim(minute) {
                        slot.add(bucket);
                    }
                }
            }
        }
        for chunk in saved.app_hours {
            let Some(hour) = period(chunk.hour, HOUR) else { continue };
            if !inside(hour, hour_now, APP_SERIES_HOURS) {
                continue;
            }
            if let Some(app) = self.app(&CompactId::new(&chunk.app_id)) {
                if let Some(slot) = app.hours.claim(hour) {
                    slot.add(&chunk.bucket);
                }
            }
        }
        for pair in saved.last_seen {
            let Some(digest) = certificate_digest(&pair.certificate_id) else { continue };
            if self.last_seen.len() >= self.config.last_seen_cap {
                break;
            }
            let api = self.api(&pair.api_id);
            let entry = self.last_seen.entry((digest, api.index)).or_insert_with(SeenEntry::new);
            entry.at.fetch_max(pair.at, Ordering::Relaxed);
            for (start, count) in pair.hours {
                let Some(hour) = period(start, HOUR) else { continue };
                if inside(hour, hour_now, LAST_SEEN_HOURS) {
                    let word = (u64::from(hour) << 32) | count.min(u64::from(u32::MAX));
                    entry.hours[hour as usize % LAST_SEEN_HOURS].store(word, Ordering::Relaxed);
                }
            }
        }
    }

    /// The APIs with a series (to find those that were deleted).
    pub fn api_ids(&self) -> Vec<String> {
        self.apis.load().keys().map(|id| id.to_string()).collect()
    }

    /// The apps with a series.
    pub fn app_ids(&self) -> Vec<String> {
        self.apps.load().keys().map(CompactId::as_string).collect()
    }

    /// Drops the series (and last-seen entries) of APIs `keep` says no to (deleted ones).
    pub fn retain_apis(&self, keep: impl Fn(&str) -> bool) {
        let _grow = self.grow.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.apis.load_full();
        let gone: Vec<u32> = current.values().filter(|a| !keep(&a.id)).map(|a| a.index).collect();
        if gone.is_empty() {
            return;
        }
        let next: HashMap<Arc<str>, Arc<ApiSeries>> = current.iter().filter(|(_, a)| keep(&a.id)).map(|(k, a)| (Arc::clone(k), Arc::clone(a))).collect();
        self.apis.store(Arc::new(next));
        self.last_seen.retain(|(_, index), _| !gone.contains(index));
    }

    /// Drops the series of apps that ended (their places go to other apps).
    pub fn forget_apps(&self, ended: &[String]) {
        if ended.is_empty() {
            return;
        }
        let _grow = self.grow.lock().unwrap_or_else(PoisonError::into_inner);
        let ended: Vec<CompactId> = ended.iter().map(|id| CompactId::new(id)).collect();
        let current = self.apps.load_full();
        let next: HashMap<CompactId, Arc<AppSeries>> = current.iter().filter(|(k, _)| !ended.contains(k)).map(|(k, a)| (k.clone(), Arc::clone(a))).collect();
        self.apps.store(Arc::new(next));
    }

    fn api_series_at(&self, api: &ApiSeries, window: Window, now: UnixSeconds) -> Option<Series> {
        let (ring, step) = match window {
            Window::Day => (&api.minutes, MINUTE),
            Window::Month => (&api.hours, HOUR),
        };
        let last = period(now, step)?;
        Some(Series { start: series_start(now, step, window.points()), step, points: ring.series(last, window.points()) })
    }
}

fn mark_dirty(slot: Option<&Slot>) {
    if let Some(slot) = slot {
        // Read first: a store on every request would bounce the cache line between cores.
        if !slot.dirty.load(Ordering::Relaxed) {
            slot.dirty.store(true, Ordering::Release);
        }
    }
}

fn redirty(ring: &Ring, hour: u32) {
    let slot = ring.slot_of(hour);
    if slot.period.load(Ordering::Acquire) == hour {
        slot.dirty.store(true, Ordering::Release);
    }
}

/// Bytes of one entry of a hash table holding `(K, V)` (its control byte included).
fn table_entry<K, V>() -> usize {
    std::mem::size_of::<(K, V)>() + 1
}

impl TrafficSource for Traffic {
    fn api_series(&self, api_id: &str, window: Window, now: UnixSeconds) -> Option<Series> {
        let api = self.apis.load().get(api_id).cloned()?;
        self.api_series_at(&api, window, now)
    }

    fn app_series(&self, app_id: &str, now: UnixSeconds) -> Option<Series> {
        let app = self.apps.load().get(&CompactId::new(app_id)).cloned()?;
        let last = period(now, HOUR)?;
        Some(Series { start: series_start(now, HOUR, APP_SERIES_HOURS), step: HOUR, points: app.hours.series(last, APP_SERIES_HOURS) })
    }

    fn totals_since(&self, since: UnixSeconds, now: UnixSeconds) -> TrafficTotals {
        let (Some(minute_now), Some(hour_now)) = (period(now, MINUTE), period(now, HOUR)) else { return TrafficTotals::default() };
        let first_minute = series_start(now, MINUTE, API_MINUTES).max(period_start(since, MINUTE));
        let by_minutes = since >= series_start(now, MINUTE, API_MINUTES);
        let api_since = if by_minutes { first_minute } else { series_start(now, HOUR, API_HOURS).max(period_start(since, HOUR)) };
        let app_since = series_start(now, HOUR, APP_SERIES_HOURS).max(period_start(since, HOUR));
        let mut totals = TrafficTotals { since: api_since, apis: Vec::new(), apps: Vec::new() };
        for api in self.apis.load().values() {
            let bucket = match (by_minutes, period(api_since, MINUTE), period(api_since, HOUR)) {
                (true, Some(first), _) => api.minutes.sum(first, minute_now),
                (false, _, Some(first)) => api.hours.sum(first, hour_now),
                _ => Bucket::default(),
            };
            if !bucket.is_empty() {
                totals.apis.push(Total { id: api.id.to_string(), bucket });
            }
        }
        if let Some(first) = period(app_since, HOUR) {
            for (id, app) in self.apps.load().iter() {
                let bucket = app.hours.sum(first, hour_now);
                if !bucket.is_empty() {
                    totals.apps.push(Total { id: id.as_string(), bucket });
                }
            }
        }
        sort_totals(&mut totals.apis);
        sort_totals(&mut totals.apps);
        totals
    }

    fn last_seen_of_certificate(&self, certificate_id: &str, now: UnixSeconds) -> Vec<LastSeen> {
        let Some(digest) = certificate_digest(certificate_id) else { return Vec::new() };
        let current = period(now, HOUR).unwrap_or(0);
        let ids = self.grow.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let mut seen: Vec<LastSeen> = ids
            .iter()
            .enumerate()
            .filter_map(|(index, api_id)| {
                let entry = self.last_seen.get(&(digest, u32::try_from(index).ok()?))?;
                Some(LastSeen {
                    api_id: api_id.to_string(),
                    at: entry.at.load(Ordering::Relaxed),
                    requests_24h: entry.hours(current).map(|(_, n)| n).sum(),
                })
            })
            .collect();
        seen.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.api_id.cmp(&b.api_id)));
        seen
    }

    fn last_seen_all(&self) -> Vec<(String, UnixSeconds)> {
        let mut latest: HashMap<[u8; 32], UnixSeconds> = HashMap::new();
        for entry in self.last_seen.iter() {
            let at = entry.at.load(Ordering::Relaxed);
            let slot = latest.entry(entry.key().0).or_insert(at);
            *slot = (*slot).max(at);
        }
        let mut all: Vec<(String, UnixSeconds)> = latest.into_iter().map(|(digest, at)| (hex::encode(digest), at)).collect();
        all.sort();
        all
    }

    fn memory(&self) -> MemoryReport {
        let api_series = self.apis.load().len();
        let app_series = self.apps.load().len();
        let bytes_per_api_series = std::mem::size_of::<ApiSeries>() + Ring::bytes(API_MINUTES) + Ring::bytes(API_HOURS);
        let bytes_per_app_series = std::mem::size_of::<AppSeries>() + Ring::bytes(APP_SERIES_HOURS);
        let bytes_per_last_seen_entry = table_entry::<SeenKey, SeenEntry>();
        let maps = (api_series + app_series) * (std::mem::size_of::<usize>() * 4);
        let total_bytes = api_series * bytes_per_api_series
            + app_series * bytes_per_app_series
            + self.last_seen.capacity().max(self.last_seen.len()) * bytes_per_last_seen_entry
            + maps;
        MemoryReport {
            recording: self.config.recording,
            api_series,
            bytes_per_api_series,
            app_series,
            app_series_cap: self.config.app_series_cap,
            bytes_per_app_series,
            app_requests_over_cap: self.app_requests_over_cap.load(Ordering::Relaxed),
            last_seen_entries: self.last_seen.len(),
            last_seen_cap: self.config.last_seen_cap,
            bytes_per_last_seen_entry,
            last_seen_over_cap: self.last_seen_over_cap.load(Ordering::Relaxed),
            total_bytes,
        }
    }
}

#[cfg(test)]
mod tests;
