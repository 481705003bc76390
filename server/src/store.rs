//! Durable message history for the MSNP server: every message acknowledged to its sender is
//! committed first, so it survives `kill -9` and a restart on the same `--data DIR`.
//!
//! Why redb, and the backends: see [`crate::db`].
//!
//! # Layout
//!
//! * `messages`: (conversation key, message id) → JSON [`Stored`]. Ids are server-assigned,
//!   strictly increasing across the whole store and restarts: `max(now_ms, last + 1)`, so
//!   they also read as arrival timestamps like seed 000's. The arrival time *is* the id:
//!   two messages in one millisecond, or after the wall clock stepped back, still arrive in
//!   id order, which [`Store::page`]'s `start` filter and clients sorting by
//!   `originalarrivaltime` rely on.
//! * `conversations`: (member mri, conversation id as that member names it) → conversation
//!   key; the index `RECENTCONVERSATIONS` walks.
//! * `threads`: thread id (`19:…`) → JSON list of member mris.
//! * `meta`: `last_id`.
//!
//! A conversation key is the thread id for `19:` threads, and `a|b` (the two bare mris in
//! byte order) for one-to-one conversations.

use redb::TableDefinition;

pub use crate::db::StoreError;
use crate::db::{Backend, Db, Open};

const MESSAGES: TableDefinition<(&str, u64), &str> = TableDefinition::new("messages");
const CONVERSATIONS: TableDefinition<(&str, &str), &str> = TableDefinition::new("conversations");
const THREADS: TableDefinition<&str, &str> = TableDefinition::new("threads");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    /// Server-assigned id, strictly increasing.
    pub id: u64,
    /// Arrival time, Unix ms: set to the id by the store (one clock, see the module docs).
    pub arrival_ms: u64,
    /// The sender's mri as sent (`8:alice;epid={…}`).
    pub from: String,
    /// `Text`, `RichText`, …
    pub message_type: String,
    /// The body text.
    pub content: String,
    /// The client's `Client-Message-ID`, if any.
    pub client_message_id: Option<String>,
}

/// The history database.
pub struct Store {
    db: Db,
    last_id: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("last_id", &self.last_id)
            .finish_non_exhaustive()
    }
}

impl Open for Store {
    fn with_backend(backend: &Backend) -> Result<Self, StoreError> {
        let (db, last_id) = Db::open(backend, "history.redb", |txn| {
            txn.open_table(MESSAGES)?;
            txn.open_table(CONVERSATIONS)?;
            txn.open_table(THREADS)?;
            let meta = txn.open_table(META)?;
            Ok(meta.get("last_id")?.map_or(0, |v| v.value()))
        })?;
        Ok(Self { db, last_id })
    }
}

impl Store {
    /// Appends a message to conversation `key` and indexes it for each `(member, name)` (the
    /// conversation as that member names it); committed durably before returning.
    pub fn append(
        &mut self,
        key: &str,
        index: &[(&str, &str)],
        mut msg: Stored,
        now_ms: u64,
    ) -> Result<Stored, StoreError> {
        let id = now_ms.max(self.last_id + 1);
        msg.id = id;
        msg.arrival_ms = id;
        let json = serde_json::to_string(&msg).map_err(StoreError::Json)?;
        let txn = self.db.write()?;
        {
            let mut messages = txn.open_table(MESSAGES)?;
            messages.insert((key, id), json.as_str())?;
            let mut convs = txn.open_table(CONVERSATIONS)?;
            for (member, name) in index {
                convs.insert((*member, *name), key)?;
            }
            let mut meta = txn.open_table(META)?;
            meta.insert("last_id", id)?;
        }
        txn.commit()?;
        self.last_id = id;
        Ok(msg)
    }

    /// Appends `msgs` to conversation `key` in one durable commit (bulk import: a history
    /// filled message by message pays one commit each). Ids are assigned as by
    /// [`append`](Self::append), in order; the conversation is indexed once per
    /// `(member, name)`. Returns the stored messages.
    pub fn append_many(
        &mut self,
        key: &str,
        index: &[(&str, &str)],
        msgs: impl IntoIterator<Item = Stored>,
        now_ms: u64,
    ) -> Result<Vec<Stored>, StoreError> {
        let mut last = self.last_id;
        let mut out = Vec::new();
        let txn = self.db.write()?;
        {
            let mut messages = txn.open_table(MESSAGES)?;
            for mut msg in msgs {
                last = now_ms.max(last + 1);
                msg.id = last;
                msg.arrival_ms = last;
                let json = serde_json::to_string(&msg).map_err(StoreError::Json)?;
                messages.insert((key, last), json.as_str())?;
                out.push(msg);
            }
            let mut convs = txn.open_table(CONVERSATIONS)?;
            for (member, name) in index {
                convs.insert((*member, *name), key)?;
            }
            let mut meta = txn.open_table(META)?;
            meta.insert("last_id", last)?;
        }
        txn.commit()?;
        self.last_id = last;
        Ok(out)
    }

    /// Up to `limit` messages of `key` with `id < before` (all if `None`) and
    /// `arrival_ms >= start_ms`, newest first.
    pub fn page(
        &self,
        key: &str,
        before: Option<u64>,
        start_ms: u64,
        limit: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(MESSAGES)?;
        let upper = before.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        for row in table.range((key, 0u64)..(key, upper))?.rev() {
            if out.len() >= limit {
                break;
            }
            let (_, v) = row?;
            let msg: Stored = serde_json::from_str(v.value()).map_err(StoreError::Json)?;
            if msg.arrival_ms < start_ms {
                break;
            }
            out.push(msg);
        }
        Ok(out)
    }

    /// The conversations `member` takes part in: (name as the member knows it, key).
    pub fn conversations(&self, member: &str) -> Result<Vec<(String, String)>, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(CONVERSATIONS)?;
        let mut out = Vec::new();
        for row in table.range((member, "")..)? {
            let (k, v) = row?;
            let (m, name) = k.value();
            if m != member {
                break;
            }
            out.push((name.to_owned(), v.value().to_owned()));
        }
        Ok(out)
    }

    /// The members of thread `id`, if it exists.
    pub fn thread(&self, id: &str) -> Result<Option<Vec<String>>, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(THREADS)?;
        let Some(v) = table.get(id)? else {
            return Ok(None);
        };
        serde_json::from_str(v.value())
            .map(Some)
            .map_err(StoreError::Json)
    }

    /// Creates or replaces thread `id` with `members`.
    pub fn set_thread(&mut self, id: &str, members: &[String]) -> Result<(), StoreError> {
        let json = serde_json::to_string(members).map_err(StoreError::Json)?;
        let txn = self.db.write()?;
        txn.open_table(THREADS)?.insert(id, json.as_str())?;
        txn.commit()
    }

    /// The newest id assigned so far.
    pub fn last_id(&self) -> u64 {
        self.last_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Stored {
        Stored {
            id: 0,
            arrival_ms: 0,
            from: "8:alice".into(),
            message_type: "Text".into(),
            content: text.into(),
            client_message_id: None,
        }
    }

    /// Issue 12: arrival times came from the wall clock and ids from the store's clock, so a
    /// clock stepping back gave a newer message an older arrival time, and `page`'s `start`
    /// filter (which stops at the first message older than `start`) hid the messages below it.
    #[test]
    fn issue_12_arrival_times_follow_ids_when_the_clock_stalls_or_steps_back() {
        let mut s = Store::temporary().unwrap();
        let key = "8:alice|8:bob";
        // As the hub sends them: arrival read from the wall clock, which stalls, then steps back.
        let mut at = |text: &str, now_ms: u64| {
            let m = Stored {
                arrival_ms: now_ms,
                ..msg(text)
            };
            s.append(key, &[], m, now_ms).unwrap()
        };
        let (a, b, c) = (at("a", 1000), at("b", 1000), at("c", 400));
        let arrivals: Vec<u64> = [&a, &b, &c].iter().map(|m| m.arrival_ms).collect();
        assert_eq!(arrivals, [1000, 1001, 1002]);
        let page = s.page(key, None, 1000, 10).unwrap();
        let texts: Vec<&str> = page.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["c", "b", "a"]);
    }

    /// The writer half of `store_survives_abort_and_keeps_ids_increasing`: runs only in the
    /// child process, writes, then aborts (no destructors, no clean shutdown: as `kill -9`).
    #[test]
    fn store_child_writer() {
        let Some(dir) = std::env::var_os("IMSPEC_STORE_CHILD") else {
            return;
        };
        let mut s = Store::open(std::path::Path::new(&dir)).unwrap();
        s.append(
            "8:alice|8:bob",
            &[("8:alice", "8:bob"), ("8:bob", "8:alice")],
            Stored {
                arrival_ms: 1000,
                ..msg("one")
            },
            1000,
        )
        .unwrap();
        s.append(
            "8:alice|8:bob",
            &[],
            Stored {
                arrival_ms: 1000,
                ..msg("two")
            },
            1000,
        )
        .unwrap();
        s.set_thread("19:t@thread.skype", &["8:alice".into()])
            .unwrap();
        std::process::abort();
    }

    #[test]
    fn store_survives_abort_and_keeps_ids_increasing() {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::store_child_writer",
                "--test-threads=1",
            ])
            .env("IMSPEC_STORE_CHILD", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child must abort after writing");
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.last_id(), 1001);
        let page = s.page("8:alice|8:bob", None, 0, 10).unwrap();
        assert_eq!(
            page.iter()
                .map(|m| (m.id, m.content.as_str()))
                .collect::<Vec<_>>(),
            [(1001, "two"), (1000, "one")]
        );
        assert_eq!(
            s.conversations("8:bob").unwrap(),
            [("8:alice".to_owned(), "8:alice|8:bob".to_owned())]
        );
        assert_eq!(
            s.thread("19:t@thread.skype").unwrap(),
            Some(vec!["8:alice".to_owned()])
        );
        let c = s.append("8:alice|8:bob", &[], msg("three"), 5).unwrap();
        assert_eq!(c.id, 1002, "ids never go back, even when the clock does");
    }

    #[test]
    fn store_in_memory_keeps_ids_pages_and_threads() {
        let mut s = Store::in_memory().unwrap();
        assert_eq!(s.last_id(), 0);
        let a = s.append("k", &[], msg("one"), 500).unwrap();
        let b = s.append("k", &[], msg("two"), 400).unwrap();
        assert_eq!((a.id, b.id), (500, 501));
        s.set_thread("19:t@thread.skype", &["8:alice".to_owned()])
            .unwrap();
        let ids: Vec<u64> = s
            .page("k", None, 0, 5)
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, [501, 500]);
        assert_eq!(
            s.thread("19:t@thread.skype").unwrap(),
            Some(vec!["8:alice".to_owned()])
        );
        assert_eq!(s.last_id(), 501);
    }

    #[test]
    fn store_in_memory_starts_empty_and_never_shares_a_live_store() {
        let mut a = Store::in_memory().unwrap();
        a.append("k", &[("8:alice", "8:bob")], msg("one"), 500)
            .unwrap();
        a.set_thread("19:t@thread.skype", &["8:alice".to_owned()])
            .unwrap();
        drop(a);
        // `a` dropped: its database is reused, emptied.
        let mut b = Store::in_memory().unwrap();
        assert_eq!(b.last_id(), 0);
        assert_eq!(b.page("k", None, 0, 5).unwrap(), []);
        assert_eq!(b.conversations("8:alice").unwrap(), []);
        assert_eq!(b.thread("19:t@thread.skype").unwrap(), None);
        assert_eq!(b.append("k", &[], msg("two"), 400).unwrap().id, 400);
        // `b` alive: the next store neither sees nor clears its data.
        let c = Store::in_memory().unwrap();
        assert_eq!(c.page("k", None, 0, 5).unwrap(), []);
        assert_eq!(b.page("k", None, 0, 5).unwrap().len(), 1);
    }

    #[test]
    fn store_pages_newest_first_below_cursor_and_after_start() {
        let mut s = Store::temporary().unwrap();
        for i in 0..10u64 {
            s.append(
                "k",
                &[],
                Stored {
                    arrival_ms: 100 + i,
                    ..msg(&i.to_string())
                },
                100 + i,
            )
            .unwrap();
        }
        s.append("other", &[], msg("x"), 200).unwrap();
        let ids = |v: Vec<Stored>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids(s.page("k", None, 0, 3).unwrap()), [109, 108, 107]);
        assert_eq!(ids(s.page("k", Some(107), 0, 3).unwrap()), [106, 105, 104]);
        assert_eq!(ids(s.page("k", Some(102), 0, 3).unwrap()), [101, 100]);
        assert_eq!(ids(s.page("k", None, 108, 5).unwrap()), [109, 108]);
        assert!(s.conversations("nobody").unwrap().is_empty());
    }

    #[test]
    fn store_append_many_commits_once_with_increasing_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.append("k", &[], msg("before"), 50).unwrap();
        let batch = (0..5).map(|i| msg(&format!("m{i}")));
        let stored = s
            .append_many("k", &[("8:alice", "8:bob")], batch, 10)
            .unwrap();
        let ids: Vec<u64> = stored.iter().map(|m| m.id).collect();
        assert_eq!(
            ids,
            [51, 52, 53, 54, 55],
            "after the last id, even below it in time"
        );
        assert!(s.append_many("k", &[], Vec::new(), 0).unwrap().is_empty());
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.last_id(), 55, "the batch is durable, last_id included");
        let page = s.page("k", None, 0, 3).unwrap();
        assert_eq!(
            page.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
            ["m4", "m3", "m2"]
        );
        assert_eq!(
            s.conversations("8:alice").unwrap(),
            [("8:bob".to_owned(), "k".to_owned())]
        );
    }
}
