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
//! [`Backend::InMemory`] is not redb: a redb database costs an initial region of about 1 MiB
//! and each commit walks its page allocator and free lists, which made creating a store and
//! committing to it most of the work of a fuzz input or a unit test (issue 18). In memory, a
//! table is an [`imbl::OrdMap`], a persistent B-tree whose clone is O(1) and shares
//! structure, holding the bytes redb would store, ordered exactly as redb orders them (the key
//! type's [`redb::Key::compare`]). The stores' queries are written once, against this
//! module's [`WriteTxn`], [`ReadTxn`], [`Table`] and [`TableMut`], and answer the same on
//! either backend (a property test holds the two to that). Transactions keep redb's meaning:
//!
//! * a write transaction works on its own copy of the tables (O(1) to take) and publishes it
//!   on [`WriteTxn::commit`]; dropped uncommitted, nothing of it is seen. Write transactions
//!   of one database run one at a time, as in redb;
//! * a read transaction is a snapshot: later commits do not change what it reads;
//! * nothing touches the disk and nothing survives the process: for the server without
//!   `--data`, fuzzing and unit tests. A fresh store costs a few small allocations.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use redb::{
    AccessGuard, Database, Key, ReadableDatabase as _, ReadableTable as _, TableDefinition,
    TableHandle as _, Value,
};

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
    /// A redb file in this directory (created if missing): durable across restarts.
    Dir(PathBuf),
    /// A redb file in a new temporary directory, removed when the store drops.
    Temporary,
    /// Memory only, not redb (see the module docs): for the server without `--data`,
    /// fuzzing and unit tests.
    InMemory,
}

/// A store over one database, and how it opens at each [`Backend`]: the MSNP history
/// ([`crate::store::Store`]), the LeanCloud store ([`crate::leancloud::Store`]) and the SIP
/// mailbox ([`crate::sip::Mailbox`]). Bring it into scope to call `open`, `temporary` or
/// `in_memory` on one.
pub trait Open: Sized {
    /// The store at `backend`: its tables created, its metadata read.
    fn with_backend(backend: &Backend) -> Result<Self, StoreError>;

    /// Opens (or creates) the store's redb file in `dir`: durable across restarts.
    fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::with_backend(&Backend::Dir(dir.to_owned()))
    }

    /// A fresh store in a redb file in a new temporary directory, removed when the store
    /// drops.
    fn temporary() -> Result<Self, StoreError> {
        Self::with_backend(&Backend::Temporary)
    }

    /// A fresh, empty store in memory only ([`Backend::InMemory`]): what the server uses
    /// without `--data`, the fuzz targets and the unit tests.
    fn in_memory() -> Result<Self, StoreError> {
        Self::with_backend(&Backend::InMemory)
    }
}

/// A key as an in-memory table holds it: the bytes redb would store, ordered by the key
/// type's own comparison.
#[derive(Clone)]
struct MemKey {
    bytes: Arc<[u8]>,
    compare: fn(&[u8], &[u8]) -> Ordering,
}

impl MemKey {
    fn of<K: Key>(key: &K::SelfType<'_>) -> Self {
        Self {
            bytes: Arc::from(K::as_bytes(key).as_ref()),
            compare: K::compare,
        }
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MemKey {}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.compare)(&self.bytes, &other.bytes)
    }
}

/// One in-memory table: encoded key → encoded value.
type MemTable = imbl::OrdMap<MemKey, Arc<[u8]>>;

/// The tables of an in-memory database, by name.
type MemTables = BTreeMap<String, MemTable>;

/// An in-memory database: the last committed tables, and the lock a write transaction holds.
#[derive(Default)]
struct Memory {
    committed: Mutex<Arc<MemTables>>,
    writer: Mutex<()>,
}

enum Kind {
    Redb(Database),
    Memory(Memory),
}

/// An open database.
pub struct Db {
    kind: Kind,
    /// Keeps a temporary directory alive as long as the store uses it.
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("in_memory", &matches!(self.kind, Kind::Memory(_)))
            .field("temporary", &self._temp.is_some())
            .finish_non_exhaustive()
    }
}

/// A lock whether or not a panic poisoned it: every critical section here leaves its data
/// whole (a swap of one `Arc`, or nothing).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Db {
    /// Opens the database `file` at `backend` and runs `init` in its first write transaction
    /// (create the tables, read the metadata), then commits.
    pub fn open<T>(
        backend: &Backend,
        file: &str,
        init: impl FnOnce(&WriteTxn<'_>) -> Result<T, StoreError>,
    ) -> Result<(Self, T), StoreError> {
        let (kind, temp) = match backend {
            Backend::Dir(dir) => (Kind::Redb(create(dir, file)?), None),
            Backend::Temporary => {
                let temp = tempfile::tempdir().map_err(|source| StoreError::Dir {
                    path: std::env::temp_dir(),
                    source,
                })?;
                (Kind::Redb(create(temp.path(), file)?), Some(temp))
            }
            Backend::InMemory => (Kind::Memory(Memory::default()), None),
        };
        let db = Self { kind, _temp: temp };
        let txn = db.write()?;
        let out = init(&txn)?;
        txn.commit()?;
        Ok((db, out))
    }

    /// Begins a write transaction (waiting for the one in progress, if any).
    pub fn write(&self) -> Result<WriteTxn<'_>, StoreError> {
        Ok(WriteTxn(match &self.kind {
            Kind::Redb(db) => WriteKind::Redb(Box::new(db.begin_write().map_err(StoreError::db)?)),
            Kind::Memory(memory) => {
                let writer = lock(&memory.writer);
                let work = MemTables::clone(&lock(&memory.committed));
                WriteKind::Memory {
                    memory,
                    _writer: writer,
                    work: RefCell::new(work),
                }
            }
        }))
    }

    /// Begins a read transaction: a snapshot of the last commit.
    pub fn read(&self) -> Result<ReadTxn, StoreError> {
        Ok(ReadTxn(match &self.kind {
            Kind::Redb(db) => ReadKind::Redb(db.begin_read().map_err(StoreError::db)?),
            Kind::Memory(memory) => ReadKind::Memory(Arc::clone(&lock(&memory.committed))),
        }))
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

/// A write transaction: tables opened in it read its own writes; [`commit`](Self::commit)
/// publishes them, dropping it discards them.
pub struct WriteTxn<'db>(WriteKind<'db>);

enum WriteKind<'db> {
    Redb(Box<redb::WriteTransaction>),
    Memory {
        memory: &'db Memory,
        _writer: MutexGuard<'db, ()>,
        work: RefCell<MemTables>,
    },
}

impl WriteTxn<'_> {
    /// Opens the table `def`, creating it if needed.
    pub fn open_table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<TableMut<'_, K, V>, StoreError> {
        Ok(TableMut(match &self.0 {
            WriteKind::Redb(txn) => MutKind::Redb(txn.open_table(def).map_err(StoreError::db)?),
            WriteKind::Memory { work, .. } => {
                let name = def.name().to_owned();
                work.borrow_mut().entry(name.clone()).or_default();
                MutKind::Memory {
                    work,
                    name,
                    _types: PhantomData,
                }
            }
        }))
    }

    /// Publishes every write of this transaction (redb: durably, before returning).
    pub fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            WriteKind::Redb(txn) => txn.commit().map_err(StoreError::db),
            WriteKind::Memory { memory, work, .. } => {
                *lock(&memory.committed) = Arc::new(work.into_inner());
                Ok(())
            }
        }
    }
}

/// A read transaction.
pub struct ReadTxn(ReadKind);

enum ReadKind {
    Redb(redb::ReadTransaction),
    Memory(Arc<MemTables>),
}

impl ReadTxn {
    /// Opens the table `def` (it must exist: every store creates its tables when it opens).
    pub fn open_table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Table<K, V>, StoreError> {
        Ok(Table(match &self.0 {
            ReadKind::Redb(txn) => ReadOnly::Redb(txn.open_table(def).map_err(StoreError::db)?),
            ReadKind::Memory(tables) => ReadOnly::Memory(
                tables.get(def.name()).cloned().unwrap_or_default(),
                PhantomData,
            ),
        }))
    }
}

/// A table opened for reading.
pub struct Table<K: Key + 'static, V: Value + 'static>(ReadOnly<K, V>);

enum ReadOnly<K: Key + 'static, V: Value + 'static> {
    Redb(redb::ReadOnlyTable<K, V>),
    Memory(MemTable, PhantomData<(K, V)>),
}

/// A table opened in a write transaction.
pub struct TableMut<'txn, K: Key + 'static, V: Value + 'static>(MutKind<'txn, K, V>);

enum MutKind<'txn, K: Key + 'static, V: Value + 'static> {
    Redb(redb::Table<'txn, K, V>),
    Memory {
        work: &'txn RefCell<MemTables>,
        name: String,
        _types: PhantomData<(K, V)>,
    },
}

impl<K: Key + 'static, V: Value + 'static> Table<K, V> {
    /// The value of `key`.
    pub fn get<'k>(
        &self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<Guard<'_, V>>, StoreError> {
        match &self.0 {
            ReadOnly::Redb(t) => Ok(t
                .get(key)
                .map_err(StoreError::db)?
                .map(|g| Guard(GuardKind::Redb(g)))),
            ReadOnly::Memory(t, _) => Ok(mem_get::<K, V>(t, key.borrow())),
        }
    }

    /// The rows with keys in `range`, in key order (reversible).
    pub fn range<'k, KR>(
        &self,
        range: impl RangeBounds<KR> + 'k,
    ) -> Result<Range<'_, K, V>, StoreError>
    where
        KR: Borrow<K::SelfType<'k>> + 'k,
    {
        match &self.0 {
            ReadOnly::Redb(t) => Ok(Range(RangeKind::Redb(Box::new(
                t.range(range).map_err(StoreError::db)?,
            )))),
            ReadOnly::Memory(t, _) => Ok(mem_range(t.clone(), &range)),
        }
    }

    /// Every row, in key order.
    pub fn iter(&self) -> Result<Range<'_, K, V>, StoreError> {
        match &self.0 {
            ReadOnly::Redb(t) => Ok(Range(RangeKind::Redb(Box::new(
                t.iter().map_err(StoreError::db)?,
            )))),
            ReadOnly::Memory(t, _) => Ok(mem_range::<K, V, K::SelfType<'_>>(t.clone(), &..)),
        }
    }
}

impl<K: Key + 'static, V: Value + 'static> TableMut<'_, K, V> {
    /// Sets `key` to `value`.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<(), StoreError> {
        match &mut self.0 {
            MutKind::Redb(t) => t.insert(key, value).map(drop).map_err(StoreError::db),
            MutKind::Memory { work, name, .. } => {
                let bytes = Arc::from(V::as_bytes(value.borrow()).as_ref());
                let key = MemKey::of::<K>(key.borrow());
                let mut work = work.borrow_mut();
                // `open_table` created the table: no name is cloned per write.
                match work.get_mut(name.as_str()) {
                    Some(table) => {
                        table.insert(key, bytes);
                    }
                    None => {
                        work.insert(name.clone(), MemTable::unit(key, bytes));
                    }
                }
                Ok(())
            }
        }
    }

    /// Deletes `key`; whether it was there.
    pub fn remove<'k>(&mut self, key: impl Borrow<K::SelfType<'k>>) -> Result<bool, StoreError> {
        match &mut self.0 {
            MutKind::Redb(t) => Ok(t.remove(key).map_err(StoreError::db)?.is_some()),
            MutKind::Memory { work, name, .. } => Ok(work
                .borrow_mut()
                .get_mut(name.as_str())
                .and_then(|t| t.remove(&MemKey::of::<K>(key.borrow())))
                .is_some()),
        }
    }

    /// The value of `key`, as this transaction has it.
    pub fn get<'k>(
        &self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<Guard<'_, V>>, StoreError> {
        match &self.0 {
            MutKind::Redb(t) => Ok(t
                .get(key)
                .map_err(StoreError::db)?
                .map(|g| Guard(GuardKind::Redb(g)))),
            MutKind::Memory { work, name, .. } => Ok(RefCell::borrow(work)
                .get(name.as_str())
                .and_then(|t| mem_get::<K, V>(t, key.borrow()))),
        }
    }
}

/// A value read from a table: [`value`](Self::value) decodes it.
pub struct Guard<'a, V: Value + 'static>(GuardKind<'a, V>);

enum GuardKind<'a, V: Value + 'static> {
    /// Borrowed from redb's page.
    Redb(AccessGuard<'a, V>),
    /// Shared with an in-memory table.
    Memory(Arc<[u8]>, PhantomData<V>),
}

impl<V: Value + 'static> Guard<'_, V> {
    /// The value.
    pub fn value(&self) -> V::SelfType<'_> {
        match &self.0 {
            GuardKind::Redb(g) => g.value(),
            GuardKind::Memory(bytes, _) => V::from_bytes(bytes),
        }
    }
}

/// The rows of a table in a key range, in key order either way.
pub struct Range<'a, K: Key + 'static, V: Value + 'static>(RangeKind<'a, K, V>);

enum RangeKind<'a, K: Key + 'static, V: Value + 'static> {
    /// A redb range.
    Redb(Box<redb::Range<'a, K, V>>),
    /// A snapshot of an in-memory table and the bounds still to visit.
    Memory {
        /// The table as the range began.
        table: MemTable,
        /// The lower bound still to visit.
        lo: Bound<MemKey>,
        /// The upper bound still to visit.
        hi: Bound<MemKey>,
        /// The key and value types.
        types: PhantomData<(K, V)>,
    },
}

/// A row: its key and its value.
pub type Row<'a, K, V> = (Guard<'a, K>, Guard<'a, V>);

impl<'a, K: Key + 'static, V: Value + 'static> Range<'a, K, V> {
    fn redb_row(
        row: Result<(AccessGuard<'a, K>, AccessGuard<'a, V>), redb::StorageError>,
    ) -> Result<Row<'a, K, V>, StoreError> {
        let (k, v) = row.map_err(StoreError::db)?;
        Ok((Guard(GuardKind::Redb(k)), Guard(GuardKind::Redb(v))))
    }

    /// The next row from the front (`back`: from the back) of the memory range.
    fn memory_next(&mut self, back: bool) -> Option<Result<Row<'a, K, V>, StoreError>> {
        let RangeKind::Memory { table, lo, hi, .. } = &mut self.0 else {
            return None;
        };
        if is_empty(lo, hi) {
            return None;
        }
        let mut rows = table.range((lo.clone(), hi.clone()));
        let (k, v) = if back { rows.next_back() } else { rows.next() }?;
        let (k, v) = (k.clone(), Arc::clone(v));
        let bound = Bound::Excluded(k.clone());
        if back {
            *hi = bound;
        } else {
            *lo = bound;
        }
        Some(Ok((
            memory_guard(k.bytes, PhantomData),
            memory_guard(v, PhantomData),
        )))
    }
}

impl<'a, K: Key + 'static, V: Value + 'static> Iterator for Range<'a, K, V> {
    type Item = Result<Row<'a, K, V>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            RangeKind::Redb(r) => r.next().map(Self::redb_row),
            RangeKind::Memory { .. } => self.memory_next(false),
        }
    }
}

impl<K: Key + 'static, V: Value + 'static> DoubleEndedIterator for Range<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            RangeKind::Redb(r) => r.next_back().map(Self::redb_row),
            RangeKind::Memory { .. } => self.memory_next(true),
        }
    }
}

fn mem_get<K: Key + 'static, V: Value + 'static>(
    table: &MemTable,
    key: &K::SelfType<'_>,
) -> Option<Guard<'static, V>> {
    table
        .get(&MemKey::of::<K>(key))
        .map(|v| memory_guard(Arc::clone(v), PhantomData))
}

fn mem_range<'k, K: Key + 'static, V: Value + 'static, KR: Borrow<K::SelfType<'k>>>(
    table: MemTable,
    range: &impl RangeBounds<KR>,
) -> Range<'static, K, V> {
    let bound = |b: Bound<&KR>| b.map(|k| MemKey::of::<K>(k.borrow()));
    Range(RangeKind::Memory {
        table,
        lo: bound(range.start_bound()),
        hi: bound(range.end_bound()),
        types: PhantomData,
    })
}

fn memory_guard<V: Value + 'static>(bytes: Arc<[u8]>, types: PhantomData<V>) -> Guard<'static, V> {
    Guard(GuardKind::Memory(bytes, types))
}

/// Whether no key lies between `lo` and `hi`.
fn is_empty(lo: &Bound<MemKey>, hi: &Bound<MemKey>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a >= b
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: TableDefinition<&str, u64> = TableDefinition::new("t");
    const ROWS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("rows");

    fn open_t(backend: &Backend) -> Db {
        Db::open(backend, "t.redb", |txn| {
            txn.open_table(T)?;
            txn.open_table(ROWS)?;
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
    fn db_transactions_commit_roll_back_and_read_snapshots_on_both_backends() {
        for backend in [Backend::InMemory, Backend::Temporary] {
            let db = open_t(&backend);
            put(&db, "x", 1);
            let before = db.read().unwrap();
            {
                let txn = db.write().unwrap();
                let mut t = txn.open_table(T).unwrap();
                t.insert("x", 2).unwrap();
                t.insert("y", 3).unwrap();
                assert_eq!(
                    t.get("x").unwrap().map(|v| v.value()),
                    Some(2),
                    "own writes"
                );
                // Dropped without commit.
            }
            assert_eq!(
                (get(&db, "x"), get(&db, "y")),
                (Some(1), None),
                "{backend:?}"
            );
            let txn = db.write().unwrap();
            txn.open_table(T).unwrap().insert("y", 4).unwrap();
            assert!(!txn.open_table(T).unwrap().remove("z").unwrap());
            assert!(txn.open_table(T).unwrap().remove("x").unwrap());
            txn.commit().unwrap();
            assert_eq!(
                (get(&db, "x"), get(&db, "y")),
                (None, Some(4)),
                "{backend:?}"
            );
            let old = before.open_table(T).unwrap();
            assert_eq!(
                old.get("x").unwrap().map(|v| v.value()),
                Some(1),
                "a snapshot"
            );
            assert!(old.get("y").unwrap().is_none(), "{backend:?}");
        }
    }

    #[test]
    fn db_in_memory_stores_share_nothing() {
        let a = open_t(&Backend::InMemory);
        put(&a, "x", 1);
        let b = open_t(&Backend::InMemory);
        assert_eq!(get(&b, "x"), None);
        put(&b, "x", 2);
        assert_eq!((get(&a, "x"), get(&b, "x")), (Some(1), Some(2)));
    }

    /// One operation of the property test below.
    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, u64, Vec<u8>),
        Remove(u8, u64),
        Commit,
        Abort,
    }

    fn op() -> impl Strategy<Value = Op> {
        let user = 0u8..4;
        let id = prop_oneof![0u64..6, Just(u64::MAX), Just(1 << 40)];
        prop_oneof![
            4 => (user.clone(), id.clone(), proptest::collection::vec(any::<u8>(), 0..4))
                .prop_map(|(u, i, v)| Op::Insert(u, i, v)),
            2 => (user, id).prop_map(|(u, i)| Op::Remove(u, i)),
            1 => Just(Op::Commit),
            1 => Just(Op::Abort),
        ]
    }

    /// Users whose names order differently as bytes, by length and by prefix.
    const USERS: [&str; 4] = ["", "a", "ab", "b\u{e9}"];

    /// Everything a store can ask of a table: every row, ranges both ways, point reads.
    fn observe(db: &Db) -> Vec<String> {
        let txn = db.read().unwrap();
        let t = txn.open_table(ROWS).unwrap();
        type Rows<'a> = Row<'a, (&'static str, u64), &'static [u8]>;
        fn show<'a>(r: impl Iterator<Item = Result<Rows<'a>, StoreError>>) -> String {
            r.map(|row| {
                let (k, v) = row.unwrap();
                format!("{:?}={:?}", k.value(), v.value())
            })
            .collect::<Vec<_>>()
            .join(",")
        }
        let mut out = vec![show(t.iter().unwrap()), show(t.iter().unwrap().rev())];
        for u in USERS {
            out.push(show(t.range((u, 0u64)..=(u, u64::MAX)).unwrap().rev()));
            out.push(show(t.range((u, 1u64)..(u, 4u64)).unwrap()));
            out.push(show(t.range((u, 3u64)..(u, 3u64)).unwrap()));
            out.push(show(t.range((u, 5u64)..).unwrap()));
            for id in [0, 3, u64::MAX] {
                out.push(format!(
                    "{:?}",
                    t.get((u, id)).unwrap().map(|v| v.value().to_vec())
                ));
            }
        }
        // A range taken from both ends at once meets in the middle.
        let mut r = t.iter().unwrap();
        let mut ends = Vec::new();
        while let Some(row) = if ends.len() % 2 == 0 {
            r.next()
        } else {
            r.next_back()
        } {
            ends.push(row.unwrap().0.value().1);
        }
        out.push(format!("{ends:?}"));
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The in-memory backend answers every query as redb does, after any mix of writes,
        /// commits and abandoned transactions.
        #[test]
        fn db_in_memory_answers_as_redb(ops in proptest::collection::vec(op(), 0..40)) {
            let dbs = [open_t(&Backend::InMemory), open_t(&Backend::Temporary)];
            let mut open: Vec<WriteTxn<'_>> = dbs.iter().map(|d| d.write().unwrap()).collect();
            for op in ops {
                match op {
                    Op::Insert(u, id, v) => for txn in &open {
                        txn.open_table(ROWS).unwrap()
                            .insert((USERS[usize::from(u)], id), v.as_slice()).unwrap();
                    },
                    Op::Remove(u, id) => {
                        let gone: Vec<bool> = open.iter().map(|txn| {
                            txn.open_table(ROWS).unwrap()
                                .remove((USERS[usize::from(u)], id)).unwrap()
                        }).collect();
                        prop_assert_eq!(gone[0], gone[1]);
                    }
                    Op::Commit | Op::Abort => {
                        for txn in open.drain(..) {
                            if matches!(op, Op::Commit) {
                                txn.commit().unwrap();
                            }
                        }
                        prop_assert_eq!(observe(&dbs[0]), observe(&dbs[1]));
                        open = dbs.iter().map(|d| d.write().unwrap()).collect();
                    }
                }
            }
            for txn in open.drain(..) {
                txn.commit().unwrap();
            }
            prop_assert_eq!(observe(&dbs[0]), observe(&dbs[1]));
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
