//! The redb store: one file, one writer thread, reads on the blocking pool.
//!
//! Writes are closures sent to the writer thread. It runs each in its own write transaction,
//! commits with immediate durability, and only then answers the caller, so an acknowledged
//! write survives a crash. Because one thread commits in order, anything published after a
//! commit (the gateway's view, later) is published in commit order too.

pub mod backup;
pub mod changes;
pub mod codec;
mod migrations;
pub mod tables;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::{Database, Key, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, Value, WriteTransaction};

pub use changes::{ChangeSet, Touched};
use migrations::migrate;

/// The schema version this build writes. Migrations from older versions go in `migrations::migrate`.
pub const SCHEMA_VERSION: u32 = 4;
/// The store's file name inside the data directory.
pub const STORE_FILE: &str = "certgate.redb";
/// redb's page cache bound. The gateway never reads the store on the request path and the
/// portal's reads are small, so the OS page cache serves the rest; memory is for the gateway
/// (bench: 32 MiB here cost ~30 MiB of resident memory once 100,000 keys had been loaded).
const CACHE_BYTES: usize = 8 * 1024 * 1024;
/// Writes waiting for the writer thread before callers are made to wait.
const WRITE_QUEUE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data directory {0} is already used by another certgate process")]
    AlreadyOpen(PathBuf),
    #[error("cannot open the store at {path}: {why}")]
    Open { path: PathBuf, why: String },
    #[error("the store was written by a newer certgate (schema {found}, this build knows {known})")]
    SchemaTooNew { found: u32, known: u32 },
    #[error("store value in table {table} at key {key} is corrupt: {why}")]
    Corrupt { table: &'static str, key: String, why: String },
    #[error("cannot encode a store value: {0}")]
    Encode(String),
    #[error("store I/O failed: {0}")]
    Io(String),
    #[error("the store is closed")]
    Closed,
    #[error("backup failed: {0}")]
    Backup(String),
}

macro_rules! io_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Io(e.to_string()) }
        }
    )*};
}
io_error_from!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::DatabaseError
);

type WriteJob = Box<dyn FnOnce(&Database) + Send>;

/// Keeps the gateway's view in step with the store, on the writer thread.
pub trait Publisher: Send + Sync {
    /// Inside a write, before its commit: computes the view change of what the write touched
    /// (`changes`). The returned step runs after the commit and cannot fail (a swap). On an
    /// error the write still commits and the whole view is rebuilt (failing closed if that
    /// fails too): a revocation is never refused for want of a view change.
    /// Also answers what the change does to credentials (the preview of a dry run).
    fn prepare(&self, db: &Database, txn: &WriteTransaction, changes: &ChangeSet) -> Result<(ViewStep, ChangePreview), crate::ServiceError>;
    /// After a commit that changed what the gateway enforces, before the write is acknowledged:
    /// so the view includes every acknowledged write, in commit order.
    fn publish(&self, db: &Database, scope: &PublishScope);
}

/// The publishing half of a prepared view change.
pub type ViewStep = Box<dyn FnOnce(&Database) + Send>;

pub use changes::ChangePreview;

/// What a published write changed, so the publisher updates only that part of the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishScope {
    /// API definitions (the snapshot is rebuilt; keys are untouched).
    Apis,
    /// One credential, by id (created, changed or revoked).
    Key(String),
    /// Anything (APIs and credentials both).
    Everything,
    /// What the write recorded in its change set (`changes::touched`): computed inside the
    /// write, published after the commit.
    Touched,
}

/// Reading tables in either kind of transaction: the gateway's view derives from committed
/// snapshots and, for a change set, from a write before its commit.
pub trait Tables {
    type Table<'t, K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>
    where
        Self: 't;
    fn table<K: Key + 'static, V: Value + 'static>(&self, definition: TableDefinition<K, V>) -> Result<Self::Table<'_, K, V>, StoreError>;
}

impl Tables for ReadTransaction {
    type Table<'t, K: Key + 'static, V: Value + 'static> = ReadOnlyTable<K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(&self, definition: TableDefinition<K, V>) -> Result<ReadOnlyTable<K, V>, StoreError> {
        Ok(self.open_table(definition)?)
    }
}

impl Tables for WriteTransaction {
    type Table<'t, K: Key + 'static, V: Value + 'static> = redb::Table<'t, K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(&self, definition: TableDefinition<K, V>) -> Result<redb::Table<'_, K, V>, StoreError> {
        Ok(self.open_table(definition)?)
    }
}

/// A handle on the open store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    writer: mpsc::SyncSender<WriteJob>,
    writer_thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    publisher: Arc<OnceLock<Arc<dyn Publisher>>>,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the store in `data_dir`, runs migrations and starts the writer thread.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            path: data_dir.to_path_buf(),
            why: e.to_string(),
        })?;
        let path = data_dir.join(STORE_FILE);
        restrict_permissions(data_dir, &path);
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen(data_dir.to_path_buf()),
            other => StoreError::Open { path: path.clone(), why: other.to_string() },
        })?;
        migrate(&db)?;
        let db = Arc::new(db);
        let (writer, jobs) = mpsc::sync_channel::<WriteJob>(WRITE_QUEUE);
        let writer_db = Arc::clone(&db);
        let writer_thread = std::thread::Builder::new()
            .name("certgate-store-writer".into())
            .spawn(move || {
                // Ends when every Store handle is dropped; then the database closes.
                for job in jobs {
                    job(&writer_db);
                }
            })
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(Store {
            db,
            writer,
            writer_thread: Arc::new(Mutex::new(Some(writer_thread))),
            publisher: Arc::new(OnceLock::new()),
            path,
        })
    }

    /// Closes the store: waits (at most `limit`) for queued writes to commit and the database
    /// to close. Every other handle must have been dropped; returns false if that did not
    /// happen in time (the data is safe either way: every commit was durable).
    pub async fn close(self, limit: Duration) -> bool {
        let handle = self.writer_thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(self);
        let Some(handle) = handle else { return true };
        let joined = tokio::task::spawn_blocking(move || handle.join().is_ok());
        matches!(tokio::time::timeout(limit, joined).await, Ok(Ok(true)))
    }

    /// Writes a consistent copy of the store (one read transaction) to `out`; see `backup`.
    /// Blocking: call it off the async workers.
    pub fn backup_to(&self, out: &Path) -> Result<u64, StoreError> {
        backup::copy(&self.db, out)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the publisher run after commits made with [`Store::write_published`] (once).
    pub fn set_publisher(&self, publisher: Arc<dyn Publisher>) -> bool {
        self.publisher.set(publisher).is_ok()
    }

    /// Runs `f` in a write transaction on the writer thread and commits durably.
    /// Returns only after the commit (or the failure) — this is the acknowledgement.
    pub async fn write<T, F>(&self, f: F) -> Result<T, crate::ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, crate::ServiceError> + Send + 'static,
    {
        Ok(self.write_inner(f, None).await?.0)
    }

    /// Like [`Store::write`], for changes the gateway enforces (APIs, credentials, certificates
    /// they use): after the commit the publisher rebuilds the gateway's view, then the caller
    /// is answered.
    pub async fn write_published<T, F>(&self, scope: PublishScope, f: F) -> Result<T, crate::ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, crate::ServiceError> + Send + 'static,
    {
        Ok(self.write_inner(f, Some(scope)).await?.0)
    }

    /// A `Touched` write that also answers what it changed for credentials (a write's answer
    /// can then warn, e.g. how many credentials stopped working).
    pub async fn write_previewed<T, F>(&self, f: F) -> Result<(T, ChangePreview), crate::ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, crate::ServiceError> + Send + 'static,
    {
        let (value, preview) = self.write_inner(f, Some(PublishScope::Touched)).await?;
        Ok((value, preview.unwrap_or_default()))
    }

    async fn write_inner<T, F>(&self, f: F, publish: Option<PublishScope>) -> Result<(T, Option<ChangePreview>), crate::ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, crate::ServiceError> + Send + 'static,
    {
        let publisher = Arc::clone(&self.publisher);
        self.on_writer(move |db| {
            let publisher = publisher.get().map(Arc::clone);
            let (result, publication) = run_write(db, f, publisher.as_deref(), publish);
            let mut preview = None;
            if let Some(publisher) = &publisher {
                match publication {
                    // The change computed inside the write: a swap.
                    Publication::Step(step, change) => {
                        step(db);
                        preview = Some(change);
                    }
                    Publication::Scope(scope) => publisher.publish(db, &scope),
                    Publication::Nothing => {}
                }
            }
            result.map(|value| (value, preview))
        })
        .await
    }

    /// What `f` would change in the gateway's view, without committing it: `f` runs in a
    /// write transaction that is then aborted (`?dry_run=true`).
    pub async fn dry_run<T, F>(&self, f: F) -> Result<(T, ChangePreview), crate::ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, crate::ServiceError> + Send + 'static,
    {
        let publisher = Arc::clone(&self.publisher);
        self.on_writer(move |db| {
            let txn = db.begin_write().map_err(StoreError::from)?;
            changes::start();
            let outcome = f(&txn).and_then(|value| {
                let touched = changes::take();
                let preview = match publisher.get() {
                    Some(publisher) => publisher.prepare(db, &txn, &touched)?.1,
                    None => ChangePreview::default(),
                };
                Ok((value, preview))
            });
            if let Err(abort) = txn.abort() {
                tracing::error!(error = %abort, "aborting a dry run failed");
            }
            outcome
        })
        .await
    }

    /// Runs `job` on the writer thread and answers with its result.
    async fn on_writer<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Database) -> Result<T, crate::ServiceError> + Send + 'static,
    ) -> Result<T, crate::ServiceError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: WriteJob = Box::new(move |db: &Database| {
            let _ = reply.send(job(db));
        });
        let writer = self.writer.clone();
        // The queue is bounded: when full, wait on the blocking pool rather than a worker.
        tokio::task::spawn_blocking(move || writer.send(job))
            .await
            .map_err(|_| StoreError::Closed)?
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` in a read transaction on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, crate::ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, crate::ServiceError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(StoreError::from)?;
            f(&txn)
        })
        .await
        .map_err(|e| crate::ServiceError::Internal(e.to_string()))?
    }

    /// A synchronous read, for start-up code that runs before the async runtime matters.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, crate::ServiceError>,
    ) -> Result<T, crate::ServiceError> {
        let txn = self.db.begin_read().map_err(StoreError::from)?;
        f(&txn)
    }
}

/// What to publish after a commit.
enum Publication {
    Nothing,
    /// Computed inside the write, with what it changes for credentials.
    Step(ViewStep, ChangePreview),
    /// Computed after the commit.
    Scope(PublishScope),
}

/// Runs `f` in a write transaction and commits it. With `Touched` publishing, the view change
/// is computed from the change set before the commit; a write that touched portal objects under
/// a narrower scope is published whole, so nothing it changed can be missed.
fn run_write<T>(
    db: &Database,
    f: impl FnOnce(&WriteTransaction) -> Result<T, crate::ServiceError>,
    publisher: Option<&dyn Publisher>,
    scope: Option<PublishScope>,
) -> (Result<T, crate::ServiceError>, Publication) {
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => return (Err(StoreError::from(e).into()), Publication::Nothing),
    };
    changes::start();
    let outcome = f(&txn).map(|value| {
        let touched = changes::take();
        let publication = match (publisher, scope) {
            (Some(publisher), Some(PublishScope::Touched)) => match publisher.prepare(db, &txn, &touched) {
                Ok((step, preview)) => Publication::Step(step, preview),
                // The write still commits (a revocation must never be refused because the view
                // change could not be computed): the whole view is rebuilt after it, and if
                // that fails too the gateway fails closed.
                Err(e) => {
                    tracing::error!(error = %e, "could not compute the gateway view's change inside the write: rebuilding it whole after the commit");
                    Publication::Scope(PublishScope::Everything)
                }
            },
            (_, Some(PublishScope::Everything)) => Publication::Scope(PublishScope::Everything),
            (_, Some(_)) if !touched.is_empty() => Publication::Scope(PublishScope::Everything),
            (_, Some(scope)) => Publication::Scope(scope),
            // A plain write that touched what credentials derive from: never left unpublished.
            (_, None) if !touched.is_empty() => Publication::Scope(PublishScope::Everything),
            (_, None) => Publication::Nothing,
        };
        (value, publication)
    });
    match outcome {
        Ok((value, publication)) => match txn.commit() {
            Ok(()) => (Ok(value), publication),
            Err(e) => (Err(StoreError::from(e).into()), Publication::Nothing),
        },
        Err(e) => {
            // Nothing of a refused write may land.
            if let Err(abort) = txn.abort() {
                tracing::error!(error = %abort, "aborting a refused write failed");
            }
            (Err(e), Publication::Nothing)
        }
    }
}

/// The store holds password hashes and JWT HMAC secrets: the data directory is for certgate's
/// user only (0700), the store file too (0600). Best effort: a failure is logged, not fatal.
fn restrict_permissions(data_dir: &Path, store_file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)) {
            tracing::warn!(path = %data_dir.display(), error = %e, "cannot restrict the data directory to its owner");
        }
        if !store_file.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            // Created empty with its final mode; redb initialises an empty file.
            let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(store_file);
            if let Err(e) = created {
                tracing::warn!(path = %store_file.display(), error = %e, "cannot create the store file");
            }
        } else if let Err(e) = std::fs::set_permissions(store_file, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(path = %store_file.display(), error = %e, "cannot restrict the store file to its owner");
        }
    }
}

/// Opens the store file directly and runs redb's integrity check (for `certgate check` and tests).
/// Fails if another process holds the store.
pub fn check_integrity(data_dir: &Path) -> Result<bool, StoreError> {
    let path = data_dir.join(STORE_FILE);
    let mut db = Database::builder().set_cache_size(CACHE_BYTES).open(&path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen(data_dir.to_path_buf()),
        other => StoreError::Open { path: path.clone(), why: other.to_string() },
    })?;
    db.check_integrity().map_err(StoreError::from)
}

#[cfg(test)]
mod tests {
    use super::*;


    #[tokio::test]
    async fn a_refused_write_changes_nothing_and_a_second_open_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let result: Result<(), _> = store
            .write(|txn| {
                let mut t = txn.open_table(tables::META)?;
                t.insert("probe", "written").map_err(StoreError::from)?;
                Err(crate::ServiceError::invalid("refused", "no"))
            })
            .await;
        assert!(result.is_err());
        let probe = store
            .read(|txn| {
                let t = txn.open_table(tables::META).map_err(StoreError::from)?;
                Ok(t.get("probe").map_err(StoreError::from)?.map(|v| v.value().to_string()))
            })
            .await
            .unwrap();
        assert_eq!(probe, None);
        assert!(matches!(Store::open(dir.path()), Err(StoreError::AlreadyOpen(_))));
    }

    #[tokio::test]
    #[cfg(unix)]
    async fn the_data_directory_and_the_store_are_for_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        std::fs::create_dir(&data_dir).unwrap();
        std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = Store::open(&data_dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data_dir), 0o700);
        assert_eq!(mode(&data_dir.join(STORE_FILE)), 0o600);
        drop(store);
    }

    #[tokio::test]
    async fn schema_version_is_recorded_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .write(|txn| {
                    let mut t = txn.open_table(tables::META)?;
                    t.insert("schema_version", "999").map_err(StoreError::from)?;
                    Ok(())
                })
                .await
                .unwrap();
        }
        // The writer thread holds a clone of the database until its channel closes.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        match Store::open(dir.path()) {
            Err(StoreError::SchemaTooNew { found: 999, known: SCHEMA_VERSION }) => {}
            other => panic!("expected SchemaTooNew, got {:?}", other.err()),
        }
    }
}
