//! Durable state of the LeanCloud server: conversations, their members, stored messages,
//! per-member cursors (delivered, read) and the patch log. One redb file, `DIR/leancloud.redb`
//! (beside the MSNP `history.redb`; see [`crate::db`] for why redb and the backends), or an
//! in-memory database when the server runs without `--data`.
//!
//! # Layout
//!
//! * `conversations`: cid → JSON [`Conv`]; `unique`: sorted member list → cid (for
//!   `conv/start` with `unique=true`); `members`: (member, cid) → join time.
//! * `messages`: (cid, timestamp) → JSON [`Message`]. Timestamps are server-assigned and
//!   strictly increasing across the whole store and restarts (`max(now_ms, last + 1)`), so a
//!   timestamp names one message; `mids`: message id → (cid, timestamp).
//!
//!   Message timestamps, patch times, receipt times and `notifTime`s are one sequence, the
//!   store's clock ([`Store::next_ts`], [`Store::stamp`]): a client compares them with each
//!   other (`lastUnreadNotifTime` against message timestamps, `lastDeliveredAt` against the
//!   messages it covers), so two events in one wall-clock millisecond must still be ordered.
//! * `cursors`: (member, cid) → (newest timestamp the member acknowledged, newest timestamp
//!   the member read).
//! * `patches`: patch timestamp → (cid, timestamp of the patched message), for the patch sync
//!   at login (`lastPatchTime`).
//! * `meta`: `last_ts`.
//!
//! Every method commits before it returns; a failure is a [`StoreError`] that the hub turns
//! into error 4200 (`INTERNAL_ERROR`).

use redb::TableDefinition;

pub use crate::db::StoreError;
use crate::db::{Backend, Db, Open, Row, WriteTxn};

const CONVERSATIONS: TableDefinition<&str, &str> = TableDefinition::new("conversations");
const UNIQUE: TableDefinition<&str, &str> = TableDefinition::new("unique");
const MEMBERS: TableDefinition<(&str, &str), u64> = TableDefinition::new("members");
const MESSAGES: TableDefinition<(&str, u64), &str> = TableDefinition::new("messages");
const MIDS: TableDefinition<&str, (&str, u64)> = TableDefinition::new("mids");
const CURSORS: TableDefinition<(&str, &str), (u64, u64)> = TableDefinition::new("cursors");
const PATCHES: TableDefinition<u64, (&str, u64)> = TableDefinition::new("patches");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// A conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Conv {
    /// The conversation id (24 hex digits, like LeanCloud's object ids).
    pub cid: String,
    /// Members in join order.
    pub members: Vec<String>,
    /// Who started it.
    pub creator: String,
    /// A transient conversation (chat room): its messages are never stored.
    pub transient: bool,
    /// Started with `unique=true`.
    pub unique: bool,
    /// The custom attributes as a JSON object text (`name` included), as the client sent them.
    pub attr: String,
    /// Creation time, Unix ms.
    pub created_ms: u64,
    /// Last attribute or member change, Unix ms.
    pub updated_ms: u64,
}

/// A stored message.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// Server-assigned message id (`uid` in the sender's ack, `id` in pushes).
    pub mid: String,
    /// Its conversation.
    pub cid: String,
    /// The sender's peer id.
    pub from: String,
    /// Server timestamp, Unix ms, unique in the store.
    pub ts: u64,
    /// Text content (`msg`), byte for byte.
    pub data: Option<String>,
    /// Binary content (`binaryMsg`), byte for byte.
    pub binary: Option<Vec<u8>>,
    /// `mentionPids`.
    pub mention_pids: Vec<String>,
    /// `mentionAll`.
    pub mention_all: bool,
    /// The sender asked for receipts (`r=true`).
    pub receipt: bool,
    /// Time of the last modify or recall.
    pub patch_ts: Option<u64>,
    /// Recalled: no content any more.
    pub recalled: bool,
    /// When a receiver acknowledged it (delivery receipt time).
    pub ack_at: Option<u64>,
    /// When a receiver read it (read receipt time).
    pub read_at: Option<u64>,
}

impl Message {
    /// Whether the message mentions `peer` (by id or `mentionAll`).
    pub fn mentions(&self, peer: &str) -> bool {
        self.mention_all || self.mention_pids.iter().any(|p| p == peer)
    }
}

/// What a member has acknowledged and read in one conversation (message timestamps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Newest timestamp acknowledged by any of the member's devices.
    pub acked: u64,
    /// Newest timestamp read.
    pub read: u64,
}

/// The LeanCloud database.
pub struct Store {
    db: Db,
    last_ts: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("last_ts", &self.last_ts)
            .finish_non_exhaustive()
    }
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Json(e)
}

impl Open for Store {
    fn with_backend(backend: &Backend) -> Result<Self, StoreError> {
        let (db, last_ts) = Db::open(backend, "leancloud.redb", |txn| {
            txn.open_table(CONVERSATIONS)?;
            txn.open_table(UNIQUE)?;
            txn.open_table(MEMBERS)?;
            txn.open_table(MESSAGES)?;
            txn.open_table(MIDS)?;
            txn.open_table(CURSORS)?;
            txn.open_table(PATCHES)?;
            let meta = txn.open_table(META)?;
            Ok(meta.get("last_ts")?.map_or(0, |v| v.value()))
        })?;
        Ok(Self { db, last_ts })
    }
}

impl Store {
    /// The next server timestamp: `max(now_ms, last + 1)`; reserved at once (persisted with
    /// the next write that uses it).
    pub fn next_ts(&mut self, now_ms: u64) -> u64 {
        let t = now_ms.max(self.last_ts.saturating_add(1));
        self.last_ts = t;
        t
    }

    /// The next server timestamp, like [`next_ts`](Self::next_ts), committed at once: for
    /// times handed out without a write of their own (`notifTime`, receipt times, will
    /// messages), so a restart cannot issue them again.
    pub fn stamp(&mut self, now_ms: u64) -> Result<u64, StoreError> {
        let t = self.next_ts(now_ms);
        let txn = self.db.write()?;
        keep_last_ts(&txn, t)?;
        txn.commit()?;
        Ok(t)
    }

    /// The conversation `cid`.
    pub fn conv(&self, cid: &str) -> Result<Option<Conv>, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(CONVERSATIONS)?;
        match table.get(cid)? {
            Some(v) => serde_json::from_str(v.value()).map(Some).map_err(json_err),
            None => Ok(None),
        }
    }

    /// The unique conversation of exactly these members (any order), if one was started.
    pub fn unique(&self, members: &[String]) -> Result<Option<String>, StoreError> {
        let key = unique_key(members);
        let txn = self.db.read()?;
        let table = txn.open_table(UNIQUE)?;
        Ok(table.get(key.as_str())?.map(|v| v.value().to_owned()))
    }

    /// Creates or replaces `conv`, keeping the member index in step; a unique conversation is
    /// indexed under its members at creation.
    pub fn put_conv(&mut self, conv: &Conv) -> Result<(), StoreError> {
        let json = serde_json::to_string(conv).map_err(json_err)?;
        let old = self.conv(&conv.cid)?;
        let txn = self.db.write()?;
        {
            let mut convs = txn.open_table(CONVERSATIONS)?;
            convs.insert(conv.cid.as_str(), json.as_str())?;
            let mut members = txn.open_table(MEMBERS)?;
            if let Some(old) = &old {
                for m in old.members.iter().filter(|m| !conv.members.contains(m)) {
                    members.remove((m.as_str(), conv.cid.as_str()))?;
                }
            }
            for m in &conv.members {
                if old.as_ref().is_none_or(|o| !o.members.contains(m)) {
                    members.insert((m.as_str(), conv.cid.as_str()), conv.updated_ms)?;
                }
            }
            if old.is_none() && conv.unique {
                let key = unique_key(&conv.members);
                txn.open_table(UNIQUE)?
                    .insert(key.as_str(), conv.cid.as_str())?;
            }
        }
        txn.commit()
    }

    /// The conversations `member` belongs to.
    pub fn conversations_of(&self, member: &str) -> Result<Vec<String>, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(MEMBERS)?;
        let mut out = Vec::new();
        for row in table.range((member, "")..)? {
            let (k, _) = row?;
            let (m, cid) = k.value();
            if m != member {
                break;
            }
            out.push(cid.to_owned());
        }
        Ok(out)
    }

    /// Stores a new message (its `ts` from [`next_ts`](Self::next_ts)).
    pub fn append(&mut self, msg: &Message) -> Result<(), StoreError> {
        let json = serde_json::to_string(msg).map_err(json_err)?;
        let txn = self.db.write()?;
        {
            txn.open_table(MESSAGES)?
                .insert((msg.cid.as_str(), msg.ts), json.as_str())?;
            txn.open_table(MIDS)?
                .insert(msg.mid.as_str(), (msg.cid.as_str(), msg.ts))?;
            keep_last_ts(&txn, self.last_ts)?;
        }
        txn.commit()
    }

    /// Replaces a stored message (receipt times, patches); a new `patch_ts` is logged for the
    /// patch sync.
    pub fn update(&mut self, msg: &Message) -> Result<(), StoreError> {
        let json = serde_json::to_string(msg).map_err(json_err)?;
        let old_patch = self.message(&msg.cid, msg.ts)?.and_then(|m| m.patch_ts);
        let txn = self.db.write()?;
        {
            txn.open_table(MESSAGES)?
                .insert((msg.cid.as_str(), msg.ts), json.as_str())?;
            if let Some(p) = msg.patch_ts.filter(|p| Some(*p) != old_patch) {
                txn.open_table(PATCHES)?
                    .insert(p, (msg.cid.as_str(), msg.ts))?;
                keep_last_ts(&txn, self.last_ts)?;
            }
        }
        txn.commit()
    }

    /// The message of `cid` at `ts`.
    pub fn message(&self, cid: &str, ts: u64) -> Result<Option<Message>, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(MESSAGES)?;
        match table.get((cid, ts))? {
            Some(v) => serde_json::from_str(v.value()).map(Some).map_err(json_err),
            None => Ok(None),
        }
    }

    /// The message with id `mid`.
    pub fn message_by_id(&self, mid: &str) -> Result<Option<Message>, StoreError> {
        let key = {
            let txn = self.db.read()?;
            let table = txn.open_table(MIDS)?;
            table.get(mid)?.map(|v| {
                let (cid, ts) = v.value();
                (cid.to_owned(), ts)
            })
        };
        match key {
            Some((cid, ts)) => self.message(&cid, ts),
            None => Ok(None),
        }
    }

    /// Messages of `cid` with `lo <= ts <= hi`: the `limit` newest ones when `newest`, else
    /// the `limit` oldest ones; always returned oldest first.
    pub fn range(
        &self,
        cid: &str,
        lo: u64,
        hi: u64,
        limit: usize,
        newest: bool,
    ) -> Result<Vec<Message>, StoreError> {
        let mut out = Vec::new();
        if lo > hi || limit == 0 {
            return Ok(out);
        }
        let txn = self.db.read()?;
        let table = txn.open_table(MESSAGES)?;
        let rows = table.range((cid, lo)..=(cid, hi))?;
        let mut push =
            |row: Result<Row<'_, (&str, u64), &str>, StoreError>| -> Result<bool, StoreError> {
                let (_, v) = row?;
                out.push(serde_json::from_str(v.value()).map_err(json_err)?);
                Ok(out.len() < limit)
            };
        if newest {
            for row in rows.rev() {
                if !push(row)? {
                    break;
                }
            }
            out.reverse();
        } else {
            for row in rows {
                if !push(row)? {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The cursor of `member` in `cid`.
    pub fn cursor(&self, member: &str, cid: &str) -> Result<Cursor, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(CURSORS)?;
        Ok(table.get((member, cid))?.map_or_else(Cursor::default, |v| {
            let (acked, read) = v.value();
            Cursor { acked, read }
        }))
    }

    /// Replaces the cursor of `member` in `cid`.
    pub fn set_cursor(&mut self, member: &str, cid: &str, c: Cursor) -> Result<(), StoreError> {
        let txn = self.db.write()?;
        txn.open_table(CURSORS)?
            .insert((member, cid), (c.acked, c.read))?;
        txn.commit()
    }

    /// Messages patched after `since` (patch time), in patch order: (cid, message timestamp).
    pub fn patches_since(&self, since: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(PATCHES)?;
        let mut out = Vec::new();
        for row in table.range(since.saturating_add(1)..)? {
            let (_, v) = row?;
            let (cid, ts) = v.value();
            out.push((cid.to_owned(), ts));
        }
        Ok(out)
    }

    /// The newest timestamp assigned so far.
    pub fn last_ts(&self) -> u64 {
        self.last_ts
    }
}

/// Records in `txn` that timestamps up to `t` were handed out (never lowering the mark).
fn keep_last_ts(txn: &WriteTxn<'_>, t: u64) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META)?;
    let last = meta.get("last_ts")?.map_or(0, |v| v.value());
    meta.insert("last_ts", last.max(t))?;
    Ok(())
}

/// The `unique` index key: the sorted, de-duplicated members joined by NUL.
fn unique_key(members: &[String]) -> String {
    let mut m: Vec<&str> = members.iter().map(String::as_str).collect();
    m.sort_unstable();
    m.dedup();
    m.join("\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(cid: &str, ts: u64, text: &str) -> Message {
        Message {
            mid: format!("m{ts}"),
            cid: cid.into(),
            from: "alice".into(),
            ts,
            data: Some(text.into()),
            ..Message::default()
        }
    }

    #[test]
    fn leancloud_store_ranges_cursors_and_patches() {
        let mut s = Store::in_memory().unwrap();
        for i in 0..10 {
            let ts = s.next_ts(100);
            assert_eq!(ts, 100 + i);
            s.append(&msg("c", ts, &i.to_string())).unwrap();
        }
        s.append(&msg("d", s.last_ts() + 1, "other")).unwrap();
        let ts = |v: Vec<Message>| v.into_iter().map(|m| m.ts).collect::<Vec<_>>();
        assert_eq!(ts(s.range("c", 0, 105, 3, true).unwrap()), [103, 104, 105]);
        assert_eq!(
            ts(s.range("c", 102, u64::MAX, 3, false).unwrap()),
            [102, 103, 104]
        );
        assert_eq!(ts(s.range("c", 108, 200, 5, true).unwrap()), [108, 109]);
        assert!(s.range("c", 5, 4, 5, true).unwrap().is_empty());
        assert_eq!(
            s.message_by_id("m104").unwrap().unwrap().data.as_deref(),
            Some("4")
        );
        assert!(s.message_by_id("nope").unwrap().is_none());

        assert_eq!(s.cursor("bob", "c").unwrap(), Cursor::default());
        s.set_cursor("bob", "c", Cursor { acked: 5, read: 3 })
            .unwrap();
        assert_eq!(s.cursor("bob", "c").unwrap(), Cursor { acked: 5, read: 3 });

        let mut m = s.message("c", 104).unwrap().unwrap();
        m.patch_ts = Some(500);
        m.data = Some("edited".into());
        s.update(&m).unwrap();
        let mut m2 = s.message("c", 101).unwrap().unwrap();
        m2.ack_at = Some(300);
        s.update(&m2).unwrap();
        assert_eq!(s.patches_since(0).unwrap(), [("c".to_owned(), 104)]);
        assert!(s.patches_since(500).unwrap().is_empty());
    }

    #[test]
    fn leancloud_store_conversations_members_and_unique_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let mut conv = Conv {
            cid: "c1".into(),
            members: vec!["bob".into(), "alice".into()],
            creator: "alice".into(),
            unique: true,
            attr: "{}".into(),
            ..Conv::default()
        };
        s.put_conv(&conv).unwrap();
        assert_eq!(
            s.unique(&["alice".into(), "bob".into()])
                .unwrap()
                .as_deref(),
            Some("c1")
        );
        assert!(s.unique(&["alice".into()]).unwrap().is_none());
        conv.members = vec!["alice".into(), "carol".into()];
        s.put_conv(&conv).unwrap();
        assert!(s.conversations_of("bob").unwrap().is_empty());
        assert_eq!(s.conversations_of("carol").unwrap(), ["c1"]);
        let t = s.next_ts(7);
        s.append(&msg("c1", t, "x")).unwrap();
        assert_eq!(
            s.stamp(7).unwrap(),
            8,
            "a stamp without a write is kept too"
        );
        drop(s);
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.conv("c1").unwrap().unwrap().members, ["alice", "carol"]);
        assert_eq!(s.last_ts(), 8);
        assert_eq!(
            s.next_ts(1),
            9,
            "timestamps never go back, even after a restart"
        );
    }
}
