//! What every durable store of the server shares: where its redb database lives
//! ([`Backend`]), opening it with its tables ([`Db::open`]), and one error type
//! ([`StoreError`]). The MSNP history ([`crate::store`]), the LeanCloud store
//! ([`crate::leancloud::store`]) and the SIP mailbox ([`crate::sip::Mailbox`]) each keep their
//! own tables and queries on top.
//!
//! # Why redb
//!
//! [redb](https://docs.rs/redb) is an embedded key-value store written in pure Rust (no C
//! toolchain, no `unsafe` FFI surface in our build), with ACID transactions over
//! copy-on-write B-trees: a commit with the default `Immediate` durability is on disk when
//! `commit()` returns, and a crash mid-write leaves the previous commit intact (no
//! write-ahead log to replay, no repair step). Its file format is stable since 1.0, it is
//! actively maintained, and ordered tuple keys give us "history of one conversation, newest
//! first, resuming below id X" as one range scan. SQLite would need a C build and an SQL
//! layer for the same queries; sled's on-disk format is not stable.
//!
//! # The in-memory backend
//!
//! [`Backend::InMemory`] is redb's `InMemoryBackend`: nothing touches the disk, nothing
//! survives the process. Creating a redb database is most of the cost of a store per fuzz
//! input or per unit test (an initial region of about 1 MiB, zeroed, and two commits), so an
//! in-memory database is reused: each thread keeps the databases of dropped in-memory stores,
//! and the next in-memory store on that thread takes an idle one, deletes every table and
//! creates its own in the same transaction that opens it. A database still used by a live
//! store is never taken, so two live stores never share data, and a reused database is
//! indistinguishable from a fresh one: same tables, all empty.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::backends::InMemoryBackend;
use redb::{Database, ReadTransaction, WriteTransaction};

/// A storage failure (disk full, corrupt file): the hub answers with its protocol's server
/// error and keeps nothing it could not commit.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused an operation.
    #[error("store: {0}")]
    Db(#[from] redb::Error),
    /// A stored value does not decode, or a value does not encode.
    #[error("store: {0}")]
    Json(#[from] serde_json::Error),
    /// The data directory (or a temporary one) cannot be created.
    #[error("store: {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A stored value is malformed in a way the store itself detects.
    #[error("store: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Any redb error (`DatabaseError`, `TransactionError`, `TableError`, `StorageError`,
    /// `CommitError`) as a [`StoreError::Db`].
    pub fn db(e: impl Into<redb::Error>) -> Self {
        Self::Db(e.into())
    }
}

/// Where a store keeps its database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A file in this directory (created if missing): durable across restarts.
    Dir(PathBuf),
    /// A file in a new temporary directory, removed when the store drops.
    Temporary,
    /// Memory only (redb's `InMemoryBackend`), reused per thread and emptied (see the module
    /// docs): for the server without `--data`, fuzzing and unit tests.
    InMemory,
}

/// Page cache of an in-memory database: the backend is memory already.
const IN_MEMORY_CACHE: usize = 4 << 20;

/// In memory, one write transaction in this many commits durably ([`Db::write`]).
const DURABLE_EVERY: u32 = 64;

/// Idle in-memory databases one thread keeps for reuse, at most.
const POOL: usize = 4;

thread_local! {
    /// In-memory databases of this thread: idle when only the pool holds them.
    static IN_MEMORY: RefCell<Vec<Arc<Database>>> = const { RefCell::new(Vec::new()) };
}

/// An open database.
pub struct Db {
    db: Arc<Database>,
    /// In memory: write transactions since the last durable one (see [`Db::write`]).
    in_memory: Option<std::sync::atomic::AtomicU32>,
    /// Keeps a temporary directory alive as long as the store uses it.
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("temporary", &self._temp.is_some())
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens the database `file` at `backend` and runs `init` in its first write transaction
    /// (create the tables, read the metadata), then commits. A reused in-memory database has
    /// every table deleted in that same transaction before `init` runs.
    pub fn open<T>(
        backend: &Backend,
        file: &str,
        init: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<(Self, T), StoreError> {
        let (db, temp, reused) = match backend {
            Backend::Dir(dir) => (Arc::new(create(dir, file)?), None, false),
            Backend::Temporary => {
                let temp = tempfile::tempdir().map_err(|source| StoreError::Dir {
                    path: std::env::temp_dir(),
                    source,
                })?;
                (Arc::new(create(temp.path(), file)?), Some(temp), false)
            }
            Backend::InMemory => {
                let (db, reused) = in_memory()?;
                (db, None, reused)
            }
        };
        let txn = db.begin_write().map_err(StoreError::db)?;
        if reused {
            let names: Vec<_> = txn.list_tables().map_err(StoreError::db)?.collect();
            for t in names {
                txn.delete_table(t).map_err(StoreError::db)?;
            }
        }
        let out = init(&txn)?;
        txn.commit().map_err(StoreError::db)?;
        let in_memory =
            (*backend == Backend::InMemory).then(|| std::sync::atomic::AtomicU32::new(0));
        Ok((
            Self {
                db,
                in_memory,
                _temp: temp,
            },
            out,
        ))
    }

    /// Begins a write transaction. In memory, most commits are non-durable
    /// (`Durability::None`: nothing to persist to, and the commit then skips writing the
    /// database header); every `DURABLE_EVERY`th (64th) is durable, which lets redb reuse the pages
    /// the commits before it freed, so a long-running server's memory stays bounded.
    pub fn write(&self) -> Result<WriteTransaction, StoreError> {
        let mut txn = self.db.begin_write().map_err(StoreError::db)?;
        if let Some(count) = &self.in_memory {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n % DURABLE_EVERY != DURABLE_EVERY - 1 {
                txn.set_durability(redb::Durability::None)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            }
        }
        Ok(txn)
    }

    /// Begins a read transaction.
    pub fn read(&self) -> Result<ReadTransaction, StoreError> {
        use redb::ReadableDatabase as _;
        self.db.begin_read().map_err(StoreError::db)
    }
}

/// Creates (or opens) `dir/file`, creating `dir` if needed.
fn create(dir: &Path, file: &str) -> Result<Database, StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
        path: dir.to_owned(),
        source,
    })?;
    Database::create(dir.join(file)).map_err(StoreError::db)
}

/// An idle in-memory database of this thread (`true`: it must be emptied), or a new one.
fn in_memory() -> Result<(Arc<Database>, bool), StoreError> {
    IN_MEMORY.with(|pool| {
        let mut pool = pool.borrow_mut();
        if let Some(db) = pool.iter().find(|db| Arc::strong_count(db) == 1) {
            return Ok((Arc::clone(db), true));
        }
        let db = Arc::new(
            Database::builder()
                .set_cache_size(IN_MEMORY_CACHE)
                .create_with_backend(InMemoryBackend::new())
                .map_err(StoreError::db)?,
        );
        if pool.len() >= POOL {
            // Every kept database is in use: forget the oldest (its store keeps it alive).
            pool.remove(0);
        }
        pool.push(Arc::clone(&db));
        Ok((db, false))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableDatabase as _, TableDefinition};

    const T: TableDefinition<&str, u64> = TableDefinition::new("t");
    const U: TableDefinition<u64, u64> = TableDefinition::new("u");

    fn open_t(backend: &Backend) -> Db {
        Db::open(backend, "t.redb", |txn| {
            txn.open_table(T).map_err(StoreError::db)?;
            Ok(())
        })
        .unwrap()
        .0
    }

    fn put(db: &Db, k: &str, v: u64) {
        let txn = db.write().unwrap();
        txn.open_table(T).unwrap().insert(k, v).unwrap();
        txn.commit().unwrap();
    }

    fn get(db: &Db, k: &str) -> Option<u64> {
        let txn = db.read().unwrap();
        let t = txn.open_table(T).unwrap();
        t.get(k).unwrap().map(|v| v.value())
    }

    #[test]
    fn db_in_memory_reused_starts_empty_and_never_shares_a_live_store() {
        let a = open_t(&Backend::InMemory);
        put(&a, "x", 1);
        // A table another store created lives on in the database: it must go too.
        let txn = a.write().unwrap();
        txn.open_table(U).unwrap().insert(1, 1).unwrap();
        txn.commit().unwrap();
        let a_db = Arc::as_ptr(&a.db);
        drop(a);
        let b = open_t(&Backend::InMemory);
        assert_eq!(Arc::as_ptr(&b.db), a_db, "the idle database is reused");
        assert_eq!(get(&b, "x"), None, "and emptied");
        let tables: Vec<String> = {
            let txn = b.db.begin_read().unwrap();
            txn.list_tables()
                .unwrap()
                .map(|t| redb::TableHandle::name(&t).to_owned())
                .collect()
        };
        assert_eq!(tables, ["t"], "only the tables the new store created");
        put(&b, "x", 2);
        // `b` alive: the next store gets a database of its own.
        let c = open_t(&Backend::InMemory);
        assert_ne!(Arc::as_ptr(&c.db), a_db);
        assert_eq!(get(&c, "x"), None);
        assert_eq!(get(&b, "x"), Some(2));
    }

    #[test]
    fn db_in_memory_commits_are_visible_across_non_durable_and_durable_ones() {
        let db = open_t(&Backend::InMemory);
        let n = u64::from(DURABLE_EVERY) * 3 + 5;
        for i in 0..n {
            put(&db, &format!("k{i}"), i);
            assert_eq!(get(&db, &format!("k{i}")), Some(i));
        }
        for i in 0..n {
            assert_eq!(get(&db, &format!("k{i}")), Some(i), "k{i}");
        }
    }

    #[test]
    fn db_dir_survives_reopen_and_temporary_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::Dir(dir.path().join("sub"));
        put(&open_t(&backend), "x", 7);
        assert_eq!(get(&open_t(&backend), "x"), Some(7));
        let t = open_t(&Backend::Temporary);
        let path = t._temp.as_ref().unwrap().path().to_owned();
        assert!(path.join("t.redb").exists());
        drop(t);
        assert!(!path.exists());
    }

    #[test]
    fn db_dir_that_cannot_be_created_is_an_error_naming_it() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let backend = Backend::Dir(file.path().join("below-a-file"));
        let e = Db::open(&backend, "t.redb", |_| Ok(())).unwrap_err();
        assert!(matches!(e, StoreError::Dir { .. }), "{e:?}");
        assert!(e.to_string().contains("below-a-file"), "{e}");
    }
}
