//! The durable offline mailbox of the SIP server: one redb file, `DIR/sip.redb` (in memory
//! when the server has no `--data DIR`), apart from the MSNP history so the two never share a
//! write lock. Why redb, and the backends: see [`crate::db`].
//!
//! A MESSAGE is answered `202 Accepted` only after [`Mailbox::store`] returned, i.e. after
//! its durable commit; a message leaves the file only through [`Mailbox::remove`] (after the
//! user agent's 2xx, or the MSRP `200`) or [`Mailbox::purge_expired`].
//!
//! # Layout
//!
//! * `offline`: (user, id) → the metadata as one line of JSON, a `\n`, then the raw body
//!   (SIP bodies need not be UTF-8, and JSON would spell bytes as a number array).
//! * `meta`: `last_id`.
//!
//! Ids are `max(now_ms, last + 1)`: strictly increasing over the whole file and across
//! restarts, so the key order is the storage order and delivery follows it. The arrival
//! time (the dumped MESSAGE's `Date`, the mailbox's CPIM `DateTime`) is the id, so it never
//! contradicts that order when the wall clock stalls or steps back. An index of
//! (id, expiry) per user is kept in memory (rebuilt on open) for counts and expiry.

use std::collections::BTreeMap;

use redb::TableDefinition;

pub use crate::db::StoreError;
use crate::db::{Backend, Db, Open};

const OFFLINE: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("offline");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// One stored MESSAGE.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offline {
    /// Server-assigned id, strictly increasing in storage order.
    #[serde(default)]
    pub id: u64,
    /// Arrival time, Unix ms: set to the id by the mailbox.
    pub arrival_ms: u64,
    /// When the message is dropped undelivered, Unix ms.
    pub expires_ms: u64,
    /// The sender as the original `From` named it, without its tag
    /// (`"alice" <sip:alice@127.0.0.1>`).
    pub from: String,
    /// The original `To` without its tag.
    pub to: String,
    /// The original `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body, byte for byte.
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// The mailbox file and its in-memory index.
pub struct Mailbox {
    db: Db,
    last_id: u64,
    /// user → (id, expires_ms) in id order.
    index: BTreeMap<String, Vec<(u64, u64)>>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("last_id", &self.last_id)
            .field("users", &self.index.len())
            .finish_non_exhaustive()
    }
}

impl Open for Mailbox {
    fn with_backend(backend: &Backend) -> Result<Self, StoreError> {
        let (db, last_id) = Db::open(backend, "sip.redb", |txn| {
            txn.open_table(OFFLINE)?;
            let meta = txn.open_table(META)?;
            Ok(meta.get("last_id")?.map_or(0, |v| v.value()))
        })?;
        let mut index: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
        {
            let txn = db.read()?;
            let table = txn.open_table(OFFLINE)?;
            for row in table.iter()? {
                let (k, v) = row?;
                let (user, id) = k.value();
                let msg = decode(v.value())?;
                index
                    .entry(user.to_owned())
                    .or_default()
                    .push((id, msg.expires_ms));
            }
        }
        Ok(Self { db, last_id, index })
    }
}

impl Mailbox {
    /// Stores `msg` for `user`, durably, and returns it with its id.
    pub fn store(
        &mut self,
        user: &str,
        mut msg: Offline,
        now_ms: u64,
    ) -> Result<Offline, StoreError> {
        let id = now_ms.max(self.last_id + 1);
        msg.id = id;
        msg.arrival_ms = id;
        let value = encode(&msg)?;
        let txn = self.db.write()?;
        {
            let mut table = txn.open_table(OFFLINE)?;
            table.insert((user, id), value.as_slice())?;
            let mut meta = txn.open_table(META)?;
            meta.insert("last_id", id)?;
        }
        txn.commit()?;
        self.last_id = id;
        self.index
            .entry(user.to_owned())
            .or_default()
            .push((id, msg.expires_ms));
        Ok(msg)
    }

    /// Stores every `(user, message)` in one durable commit (a group commit: one fsync for a
    /// burst), ids assigned in order as by [`store`](Self::store).
    pub fn store_many(
        &mut self,
        items: Vec<(String, Offline)>,
        now_ms: u64,
    ) -> Result<Vec<Offline>, StoreError> {
        let mut last = self.last_id;
        let mut out = Vec::with_capacity(items.len());
        let txn = self.db.write()?;
        {
            let mut table = txn.open_table(OFFLINE)?;
            for (user, mut msg) in items {
                last = now_ms.max(last + 1);
                msg.id = last;
                msg.arrival_ms = last;
                let value = encode(&msg)?;
                table.insert((user.as_str(), last), value.as_slice())?;
                out.push((user, msg));
            }
            let mut meta = txn.open_table(META)?;
            meta.insert("last_id", last)?;
        }
        txn.commit()?;
        self.last_id = last;
        Ok(out
            .into_iter()
            .map(|(user, msg)| {
                self.index
                    .entry(user)
                    .or_default()
                    .push((msg.id, msg.expires_ms));
                msg
            })
            .collect())
    }

    /// `user`'s messages not expired at `now_ms`, oldest first.
    pub fn list(&self, user: &str, now_ms: u64) -> Result<Vec<Offline>, StoreError> {
        let txn = self.db.read()?;
        let table = txn.open_table(OFFLINE)?;
        let mut out = Vec::new();
        for row in table.range((user, 0u64)..=(user, u64::MAX))? {
            let (_, v) = row?;
            let msg = decode(v.value())?;
            if msg.expires_ms > now_ms {
                out.push(msg);
            }
        }
        Ok(out)
    }

    /// Deletes one message durably; whether it was there.
    pub fn remove(&mut self, user: &str, id: u64) -> Result<bool, StoreError> {
        let txn = self.db.write()?;
        let removed = {
            let mut table = txn.open_table(OFFLINE)?;
            table.remove((user, id))?
        };
        txn.commit()?;
        if let Some(ids) = self.index.get_mut(user) {
            ids.retain(|(i, _)| *i != id);
            if ids.is_empty() {
                self.index.remove(user);
            }
        }
        Ok(removed)
    }

    /// How many of `user`'s messages are not expired at `now_ms`.
    pub fn count(&self, user: &str, now_ms: u64) -> usize {
        self.index
            .get(user)
            .map_or(0, |ids| ids.iter().filter(|(_, e)| *e > now_ms).count())
    }

    /// The earliest expiry of any stored message.
    pub fn next_expiry(&self) -> Option<u64> {
        self.index.values().flatten().map(|(_, e)| *e).min()
    }

    /// Deletes every message expired at `now_ms`; returns the users that lost messages.
    pub fn purge_expired(&mut self, now_ms: u64) -> Result<Vec<String>, StoreError> {
        let due: Vec<(String, u64)> = self
            .index
            .iter()
            .flat_map(|(u, ids)| {
                ids.iter()
                    .filter(|(_, e)| *e <= now_ms)
                    .map(move |(id, _)| (u.clone(), *id))
            })
            .collect();
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let txn = self.db.write()?;
        {
            let mut table = txn.open_table(OFFLINE)?;
            for (u, id) in &due {
                table.remove((u.as_str(), *id))?;
            }
        }
        txn.commit()?;
        let mut users: Vec<String> = Vec::new();
        for (u, id) in due {
            if let Some(ids) = self.index.get_mut(&u) {
                ids.retain(|(i, _)| *i != id);
                if ids.is_empty() {
                    self.index.remove(&u);
                }
            }
            if users.last() != Some(&u) {
                users.push(u);
            }
        }
        Ok(users)
    }

    /// The newest id assigned so far.
    pub fn last_id(&self) -> u64 {
        self.last_id
    }
}

fn encode(msg: &Offline) -> Result<Vec<u8>, StoreError> {
    // Compact serde_json output never holds a raw newline, so the first `\n` ends the JSON.
    let mut out = serde_json::to_vec(msg).map_err(StoreError::Json)?;
    out.push(b'\n');
    out.extend_from_slice(&msg.body);
    Ok(out)
}

fn decode(value: &[u8]) -> Result<Offline, StoreError> {
    let nl = value
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| StoreError::Corrupt("sip.redb: record without a newline".to_owned()))?;
    let (json, body) = value.split_at(nl);
    let mut msg: Offline = serde_json::from_slice(json).map_err(StoreError::Json)?;
    msg.body = body.get(1..).unwrap_or_default().to_vec();
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &[u8], expires_ms: u64) -> Offline {
        Offline {
            id: 0,
            arrival_ms: 0,
            expires_ms,
            from: "<sip:alice@127.0.0.1>".into(),
            to: "<sip:bob@127.0.0.1>".into(),
            content_type: Some("text/plain".into()),
            body: body.to_vec(),
        }
    }

    /// Issue 12: arrival times came from the wall clock, so a message stored after the clock
    /// stepped back was dumped after an older one yet dated before it.
    #[test]
    fn issue_12_sip_arrival_times_follow_storage_order() {
        let mut m = Mailbox::in_memory().unwrap();
        let at = |now_ms| Offline {
            arrival_ms: now_ms,
            ..msg(b"x", u64::MAX)
        };
        m.store("bob", at(5000), 5000).unwrap();
        m.store_many(
            vec![("bob".into(), at(5000)), ("bob".into(), at(1000))],
            1000,
        )
        .unwrap();
        let arrivals: Vec<u64> = m
            .list("bob", 0)
            .unwrap()
            .iter()
            .map(|o| o.arrival_ms)
            .collect();
        assert_eq!(arrivals, [5000, 5001, 5002]);
    }

    #[test]
    fn sip_store_keeps_order_bodies_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Mailbox::open(dir.path()).unwrap();
        m.store("bob", msg(b"one\n{\"x\":1}", 10_000), 100).unwrap();
        m.store("bob", msg(&[0xff, 0, b'\n'], 10_000), 50).unwrap();
        m.store("carol", msg(b"c", 10_000), 50).unwrap();
        drop(m);
        let mut m = Mailbox::open(dir.path()).unwrap();
        assert_eq!(m.last_id(), 102);
        let bob = m.list("bob", 0).unwrap();
        assert_eq!(bob.iter().map(|o| o.id).collect::<Vec<_>>(), [100, 101]);
        assert_eq!(bob[0].body, b"one\n{\"x\":1}");
        assert_eq!(bob[1].body, [0xff, 0, b'\n']);
        assert_eq!(m.count("bob", 0), 2);
        assert!(m.remove("bob", 100).unwrap());
        assert!(!m.remove("bob", 100).unwrap());
        drop(m);
        let m = Mailbox::open(dir.path()).unwrap();
        assert_eq!(m.count("bob", 0), 1);
        assert_eq!(m.count("carol", 0), 1);
        assert_eq!(m.count("nobody", 0), 0);
    }

    #[test]
    fn sip_store_many_commits_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Mailbox::open(dir.path()).unwrap();
        m.store("bob", msg(b"a", 10_000), 7).unwrap();
        let items = vec![
            ("bob".to_owned(), msg(b"b", 10_000)),
            ("carol".to_owned(), msg(b"c", 10_000)),
            ("bob".to_owned(), msg(b"d", 10_000)),
        ];
        let stored = m.store_many(items, 5).unwrap();
        assert_eq!(stored.iter().map(|o| o.id).collect::<Vec<_>>(), [8, 9, 10]);
        drop(m);
        let m = Mailbox::open(dir.path()).unwrap();
        let bodies: Vec<Vec<u8>> = m
            .list("bob", 0)
            .unwrap()
            .into_iter()
            .map(|o| o.body)
            .collect();
        assert_eq!(bodies, [b"a".to_vec(), b"b".to_vec(), b"d".to_vec()]);
        assert_eq!((m.count("carol", 0), m.last_id()), (1, 10));
    }

    #[test]
    fn sip_store_expiry_hides_and_purges() {
        let mut m = Mailbox::in_memory().unwrap();
        m.store("bob", msg(b"old", 500), 1).unwrap();
        m.store("bob", msg(b"new", 5000), 2).unwrap();
        m.store("eve", msg(b"e", 400), 3).unwrap();
        assert_eq!(m.next_expiry(), Some(400));
        assert_eq!(m.count("bob", 600), 1);
        assert_eq!(m.list("bob", 600).unwrap().len(), 1);
        assert_eq!(m.purge_expired(600).unwrap(), ["bob", "eve"]);
        assert_eq!(m.count("bob", 0), 1);
        assert_eq!(m.next_expiry(), Some(5000));
        assert!(m.purge_expired(600).unwrap().is_empty());
    }
}
