//! Backups: every table copied, in one read transaction (a consistent snapshot that does not
//! block the writer), into a new redb file. The result is a store certgate opens as it is.

use std::path::{Path, PathBuf};

use redb::{
    Database, Key, MultimapTableHandle, ReadTransaction, ReadableDatabase, TableDefinition, TableHandle, Value, WriteTransaction,
};

use super::{tables, StoreError, STORE_FILE};

/// Copies the store `db` to `out` (which must not exist): written to `out.tmp` (mode 0600),
/// committed durably, then renamed. Returns the size of the backup in bytes.
pub fn copy(db: &Database, out: &Path) -> Result<u64, StoreError> {
    let fail = |why: String| StoreError::Backup(why);
    if out.exists() {
        return Err(fail(format!("{} already exists", out.display())));
    }
    let tmp = tmp_path(out);
    let file = create_private(&tmp)
        .map_err(|e| fail(format!("cannot create {}: {e} (a backup still running, or a failed one left it?)", tmp.display())))?;
    let written = (|| {
        let target = Database::builder().create_with_backend(redb::backends::FileBackend::new(file)?)?;
        let source = db.begin_read()?;
        let txn = target.begin_write()?;
        copy_tables(&source, &txn)?;
        txn.commit()?;
        Ok::<(), StoreError>(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // Never replace a file that appeared meanwhile (hard_link fails if `out` exists).
    let linked = std::fs::hard_link(&tmp, out);
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(|e| fail(format!("cannot create {}: {e}", out.display())))?;
    if let Some(parent) = out.parent() {
        // The new directory entry is durable too.
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    std::fs::metadata(out).map(|m| m.len()).map_err(|e| StoreError::Io(e.to_string()))
}

/// Backs up the store of `data_dir` when no process has it open; [`StoreError::AlreadyOpen`]
/// when one has (then the running certgate must make the copy).
pub fn copy_closed(data_dir: &Path, out: &Path) -> Result<u64, StoreError> {
    let path = data_dir.join(STORE_FILE);
    let db = Database::builder().open(&path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen(data_dir.to_path_buf()),
        other => StoreError::Open { path: path.clone(), why: other.to_string() },
    })?;
    copy(&db, out)
}

fn tmp_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    out.with_file_name(name)
}

fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Copies every table of tables.rs. A table in the source that is not in this list fails the
/// backup (instead of silently leaving it out), so a table added later cannot be forgotten.
fn copy_tables(source: &ReadTransaction, target: &WriteTransaction) -> Result<(), StoreError> {
    let mut copied = Vec::new();
    macro_rules! copy_each {
        ($($table:expr),* $(,)?) => {$(
            copy_table(source, target, $table)?;
            copied.push($table.name().to_string());
        )*};
    }
    copy_each!(
        tables::META,
        tables::USERS,
        tables::USERS_BY_EMAIL,
        tables::SESSIONS,
        tables::ORGANISATIONS,
        tables::ORGANISATIONS_BY_NAME,
        tables::CERTIFICATES,
        tables::CERTIFICATE_PORTAL,
        tables::AUDIT,
        tables::APIS,
        tables::APIS_BY_PATH,
        tables::KEYS,
        tables::QUOTA_USAGE,
        tables::TRAFFIC_API_HOURS,
        tables::TRAFFIC_APP_HOURS,
        tables::CERTIFICATE_LAST_SEEN,
        tables::ADMIN_TOKENS,
        tables::ADMIN_TOKENS_BY_HASH,
        tables::PLANS,
        tables::PRODUCTS,
        tables::PRODUCTS_BY_API,
        tables::PRODUCTS_BY_PLAN,
        tables::CERTIFICATE_USERS,
        tables::APPS,
        tables::APPS_BY_ORGANISATION,
        tables::ACCESS_REQUESTS,
        tables::SUBSCRIPTIONS,
        tables::APP_PRODUCT_CLAIMS,
        tables::CREDENTIALS,
        tables::RETIREMENTS,
        tables::ACCOUNT_LINKS,
        tables::ACCOUNT_LINKS_BY_USER,
        tables::SUBSCRIPTIONS_BY,
        tables::ORGANISATION_CERTIFICATES,
        tables::ACCESS_REQUESTS_BY,
        tables::CERTIFICATES_BY_EXPIRY,
        tables::WEBHOOK_ENDPOINTS,
        tables::WEBHOOK_DELIVERIES,
        tables::WEBHOOK_QUEUE,
        tables::WEBHOOK_DELIVERIES_BY_ENDPOINT,
        tables::WEBHOOK_EXPIRY_NOTICES,
        tables::WEBHOOK_COUNTS,
        tables::WEBHOOK_FINISHED_BY_ENDPOINT,
    );
    for table in source.list_tables()? {
        if !copied.iter().any(|name| name == table.name()) {
            return Err(StoreError::Backup(format!("table {} is not known to the backup", table.name())));
        }
    }
    if let Some(table) = source.list_multimap_tables()?.next() {
        return Err(StoreError::Backup(format!("table {} is not known to the backup", table.name())));
    }
    Ok(())
}

fn copy_table<K: Key + 'static, V: Value + 'static>(
    source: &ReadTransaction,
    target: &WriteTransaction,
    definition: TableDefinition<K, V>,
) -> Result<(), StoreError> {
    use redb::ReadableTable;
    let from = match source.open_table(definition) {
        Ok(table) => table,
        // A table the source never created: the copy does not have it either.
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut to = target.open_table(definition)?;
    for entry in from.iter()? {
        let (k, v) = entry?;
        to.insert(k.value(), v.value())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_backup_of_an_open_store_holds_every_table_and_opens_as_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("live")).unwrap();
        store
            .write(|txn| {
                txn.open_table(tables::USERS)?.insert("usr_1", &b"\x01{}"[..])?;
                txn.open_table(tables::AUDIT)?.insert(7u64, &b"\x01{}"[..])?;
                Ok(())
            })
            .await
            .unwrap();
        let out = dir.path().join("copy.redb");
        let size = store.backup_to(&out).unwrap();
        assert!(size > 0);
        assert!(!tmp_path(&out).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // Refused when the target exists.
        assert!(matches!(store.backup_to(&out), Err(StoreError::Backup(_))));
        // The same tables, and the data.
        let restored_dir = dir.path().join("restored");
        std::fs::create_dir_all(&restored_dir).unwrap();
        std::fs::rename(&out, restored_dir.join(STORE_FILE)).unwrap();
        let names = |txn: &ReadTransaction| {
            let mut n: Vec<String> = txn.list_tables().unwrap().map(|t| t.name().to_string()).collect();
            n.sort();
            n
        };
        let live_names = store.read(move |txn| Ok(names(txn))).await.unwrap();
        let restored = Store::open(&restored_dir).unwrap();
        let (restored_names, user) = restored
            .read(move |txn| {
                let user = txn.open_table(tables::USERS)?.get("usr_1")?.map(|v| v.value().to_vec());
                Ok((names(txn), user))
            })
            .await
            .unwrap();
        assert_eq!(restored_names, live_names);
        assert_eq!(user.as_deref(), Some(&b"\x01{}"[..]));
    }

    #[tokio::test]
    async fn an_unknown_table_fails_the_backup_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        const STRAY: TableDefinition<&str, &str> = TableDefinition::new("not_in_the_backup_list");
        store
            .write(|txn| {
                txn.open_table(STRAY)?.insert("k", "v")?;
                Ok(())
            })
            .await
            .unwrap();
        let out = dir.path().join("copy.redb");
        assert!(matches!(store.backup_to(&out), Err(StoreError::Backup(m)) if m.contains("not_in_the_backup_list")));
        assert!(!out.exists() && !tmp_path(&out).exists());
    }

    #[tokio::test]
    async fn a_closed_store_is_copied_directly_and_an_open_one_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let out = dir.path().join("copy.redb");
        assert!(matches!(copy_closed(dir.path(), &out), Err(StoreError::AlreadyOpen(_))));
        assert!(store.close(std::time::Duration::from_secs(5)).await);
        assert!(copy_closed(dir.path(), &out).unwrap() > 0);
    }
}
