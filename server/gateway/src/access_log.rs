//! The gateway's access log: one line per request, written by one thread from a bounded queue.
//! The request path only moves a small record into the queue (`try_send`, never waits); the
//! writer thread formats and writes. A full queue drops the line and counts it: the gateway
//! never waits on its log.
//!
//! A record holds only what is safe to print: never a token, a cookie, a query string or an
//! `Authorization` header (it has no field that could hold one).

mod body;
mod format;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};


use certgate_core::gateway::view::{ApiView, KeyOwner};
use prometheus_client::metrics::counter::Counter;

pub use body::LoggedBody;
pub use format::{format_line, LogFormat};

/// Records the queue holds before it drops: 180 ms at 45,000 requests/s, 18 of the writer's
/// polls. The slots are allocated up front (~200 bytes each, 1.7 MB).
pub const QUEUE_CAPACITY: usize = 8 * 1024;

/// How long `finish` waits for the writer.
pub const FINISH_WITHIN: Duration = Duration::from_secs(2);

/// The longest path logged, in bytes (a longer one is cut, marked with "…"): the queue's
/// records stay small whatever the requests.
pub const MAX_LOGGED_PATH: usize = 1024;

/// `path` cut to at most [`MAX_LOGGED_PATH`] bytes, on a character boundary, ending in "…" when
/// it was cut (its memory given back too: the record may wait in the queue).
pub fn logged_path(mut path: String) -> String {
    const MARK: &str = "…";
    if path.len() <= MAX_LOGGED_PATH {
        return path;
    }
    let mut end = MAX_LOGGED_PATH - MARK.len();
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    path.truncate(end);
    path.push_str(MARK);
    path.shrink_to_fit();
    path
}

/// A short id, kept inline: a certificate's first 16 hex digits, or a credential id's
/// `<prefix>_` and first 8 digits. No allocation per request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortId {
    bytes: [u8; 16],
    len: u8,
}

impl ShortId {
    /// The first `max` (at most 16) characters of `id`, cut on a character boundary.
    pub fn new(id: &str, max: usize) -> ShortId {
        let mut end = id.len().min(max).min(16);
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; 16];
        bytes[..end].copy_from_slice(&id.as_bytes()[..end]);
        ShortId { bytes, len: end as u8 }
    }

    /// A certificate id (64 hex digits) shortened to 16.
    pub fn certificate(id: &str) -> ShortId {
        ShortId::new(id, 16)
    }

    /// A credential id's prefix: `key_0123abcd` (its kind and 8 digits).
    pub fn credential(id: &str) -> ShortId {
        ShortId::new(id, 12)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for ShortId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request as the access log records it.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    /// When the request arrived.
    pub at: SystemTime,
    /// The API it was routed to (its id and name), if any.
    pub api: Option<Arc<ApiView>>,
    pub method: http::Method,
    /// The request path, without its query string.
    pub path: String,
    pub status: u16,
    /// The denial's problem code, when the gateway refused.
    pub denial: Option<&'static str>,
    pub certificate: Option<ShortId>,
    pub credential: Option<ShortId>,
    /// A portal credential's app and organisation.
    pub owner: Option<Arc<KeyOwner>>,
    /// Time from sending the request upstream to the upstream's response headers.
    pub upstream: Option<Duration>,
    /// Time from the request to the response headers.
    pub duration: Duration,
    /// Response body bytes sent.
    pub bytes: u64,
}

/// The sending side, shared by every worker thread.
pub struct AccessLog {
    queue: SyncSender<AccessRecord>,
    dropped: Counter,
    /// Tells the writer to write what is queued and stop (at shutdown).
    stop: Arc<AtomicBool>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl AccessLog {
    /// Starts the writer thread writing to `out` in `format`.
    pub fn start(format: LogFormat, out: Box<dyn Write + Send>, dropped: Counter) -> std::io::Result<Arc<AccessLog>> {
        let (log, records) = AccessLog::queue(QUEUE_CAPACITY, dropped);
        let stop = Arc::clone(&log.stop);
        let writer = std::thread::Builder::new().name("access-log".into()).spawn(move || write_all(records, format, out, &stop))?;
        *log.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(writer);
        Ok(Arc::new(log))
    }

    /// A log and the receiving end of its queue (the writer thread, or a test).
    fn queue(capacity: usize, dropped: Counter) -> (AccessLog, Receiver<AccessRecord>) {
        let (queue, records) = std::sync::mpsc::sync_channel(capacity);
        (AccessLog { queue, dropped, stop: Arc::new(AtomicBool::new(false)), writer: Mutex::new(None) }, records)
    }

    /// Writes what is queued and stops the writer (at shutdown, once the listener has drained:
    /// the last requests' lines are not lost). Later records are dropped. Waits at most
    /// [`FINISH_WITHIN`]: an output that blocks (a stdout nobody reads) must not hang shutdown.
    pub fn finish(&self) {
        self.finish_within(FINISH_WITHIN);
    }

    fn finish_within(&self, deadline: Duration) {
        self.stop.store(true, Ordering::SeqCst);
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(writer) = writer else { return };
        let until = std::time::Instant::now() + deadline;
        while !writer.is_finished() {
            if std::time::Instant::now() >= until {
                // Left behind: the process is ending, and its last lines with it.
                tracing::warn!(waited_ms = deadline.as_millis() as u64, "the access log's output is blocked; shutting down without its last lines");
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = writer.join();
    }

    /// Queues a record, or drops it (and counts it) when the queue is full.
    pub fn record(&self, record: AccessRecord) {
        match self.queue.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.inc();
            }
        }
    }
}

/// How long the writer sleeps once the queue is empty. It polls rather than blocks: a sender
/// then never has to wake it (a futex call per request), and each wake writes a batch (at
/// 45,000 requests/s, ~450 lines in a few `write`s).
const POLL: Duration = Duration::from_millis(10);

/// The writer thread: formats into one reused buffer, writes in batches, flushes whenever the
/// queue is empty. Ends when every sender is gone.
fn write_all(records: Receiver<AccessRecord>, format: LogFormat, out: Box<dyn Write + Send>, stop: &AtomicBool) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut line = String::with_capacity(512);
    loop {
        let mut wrote = false;
        loop {
            match records.try_recv() {
                Ok(record) => {
                    line.clear();
                    format_line(&mut line, &record, format);
                    // A failing output (a closed pipe) loses lines; it must not stop the gateway.
                    let _ = out.write_all(line.as_bytes());
                    wrote = true;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = out.flush();
                    return;
                }
            }
        }
        if wrote {
            let _ = out.flush();
        }
        // Checked after a drain: what was queued before `finish` is written.
        if stop.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record() -> AccessRecord {
        AccessRecord {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_531_007_250),
            api: None,
            method: http::Method::GET,
            path: "/orders/1".into(),
            status: 404,
            denial: Some("api_not_found"),
            certificate: None,
            credential: None,
            owner: None,
            upstream: None,
            duration: Duration::from_micros(1500),
            bytes: 120,
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let dropped = Counter::default();
        let (log, records) = AccessLog::queue(2, dropped.clone());
        for _ in 0..5 {
            log.record(record());
        }
        assert_eq!(dropped.get(), 3, "two fit, three were dropped");
        assert_eq!(records.try_iter().count(), 2);
        // Room again: nothing more is dropped.
        log.record(record());
        assert_eq!(dropped.get(), 3);
    }

    #[test]
    fn a_log_whose_writer_is_gone_counts_drops_without_failing() {
        let dropped = Counter::default();
        let (log, records) = AccessLog::queue(2, dropped.clone());
        drop(records);
        log.record(record());
        assert_eq!(dropped.get(), 1);
    }

    /// An output the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_writer_writes_every_queued_line() {
        let out = Shared::default();
        let (log, records) = AccessLog::queue(8, Counter::default());
        for _ in 0..3 {
            log.record(record());
        }
        drop(log);
        write_all(records, LogFormat::Text, Box::new(out.clone()), &std::sync::atomic::AtomicBool::new(false));
        let text = out.text();
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().all(|l| l.contains("path=/orders/1") && l.contains("code=api_not_found")), "{text}");
    }

    #[test]
    fn finish_writes_what_is_queued_then_stops() {
        let out = Shared::default();
        let log = AccessLog::start(LogFormat::Json, Box::new(out.clone()), Counter::default()).unwrap();
        for _ in 0..100 {
            log.record(record());
        }
        log.finish();
        assert_eq!(out.text().lines().count(), 100);
        log.finish();
    }

    #[test]
    fn a_long_path_is_cut_on_a_character_boundary_and_marked() {
        assert_eq!(logged_path("/orders/1".into()), "/orders/1");
        let exact = "a".repeat(MAX_LOGGED_PATH);
        assert_eq!(logged_path(exact.clone()), exact);
        let long = format!("/{}", "é".repeat(4000));
        let cut = logged_path(long);
        assert!(cut.len() <= MAX_LOGGED_PATH && cut.len() > MAX_LOGGED_PATH - 8, "{}", cut.len());
        assert!(cut.ends_with("é…") && cut.capacity() <= MAX_LOGGED_PATH + 8);
    }

    /// An output that never returns from `write` (a stdout nobody reads).
    struct Blocked(std::sync::mpsc::Receiver<()>);

    impl Write for Blocked {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn finish_gives_up_on_a_blocked_output() {
        let (release, blocked) = std::sync::mpsc::channel();
        let log = AccessLog::start(LogFormat::Text, Box::new(Blocked(blocked)), Counter::default()).unwrap();
        // More than the writer's buffer: it has to write, and blocks.
        for _ in 0..2000 {
            log.record(record());
        }
        std::thread::sleep(Duration::from_millis(50));
        let started = std::time::Instant::now();
        log.finish_within(Duration::from_millis(200));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(2), "{waited:?}");
        drop(release);
    }

    #[test]
    fn a_record_stays_small() {
        // The queue's slots are allocated up front: QUEUE_CAPACITY of these.
        assert!(std::mem::size_of::<AccessRecord>() <= 224, "{}", std::mem::size_of::<AccessRecord>());
    }

    #[test]
    fn short_ids_keep_their_prefix() {
        assert_eq!(ShortId::credential("key_0123456789abcdef0123456789abcdef").as_str(), "key_01234567");
        assert_eq!(ShortId::certificate(&"ab".repeat(32)).as_str(), "abababababababab");
        assert_eq!(ShortId::credential("k1").as_str(), "k1");
        // Never cut inside a character.
        assert_eq!(ShortId::new("ééééééé", 5).as_str(), "éé");
    }
}
