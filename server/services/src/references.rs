//! Reference indexes kept as plain tables with composite keys `<target>/<holder>` (ids never
//! contain '/'): "which products contain this API" is a prefix scan, never a scan of every
//! record. One place adds, removes and reads them.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::ServiceError;

fn key(target: &str, holder: &str) -> String {
    format!("{target}/{holder}")
}

/// Records that `holder` refers to each of `targets`.
pub(crate) fn add(txn: &WriteTransaction, table: TableDefinition<&str, &[u8]>, targets: &[String], holder: &str) -> Result<(), ServiceError> {
    let mut index = txn.open_table(table)?;
    for target in targets {
        index.insert(key(target, holder).as_str(), &[][..])?;
    }
    Ok(())
}

/// Forgets that `holder` refers to each of `targets`.
pub(crate) fn remove(txn: &WriteTransaction, table: TableDefinition<&str, &[u8]>, targets: &[String], holder: &str) -> Result<(), ServiceError> {
    let mut index = txn.open_table(table)?;
    for target in targets {
        index.remove(key(target, holder).as_str())?;
    }
    Ok(())
}

/// The holders referring to `target`.
pub(crate) fn holders(table: &impl ReadableTable<&'static str, &'static [u8]>, target: &str) -> Result<Vec<String>, ServiceError> {
    // '0' is the character after '/': the range covers exactly the keys `<target>/…`.
    let (from, to) = (format!("{target}/"), format!("{target}0"));
    let mut out = Vec::new();
    for entry in table.range(from.as_str()..to.as_str())? {
        let (k, _) = entry?;
        if let Some(holder) = k.value().strip_prefix(from.as_str()) {
            out.push(holder.to_string());
        }
    }
    Ok(out)
}
