//! The LeanCloud realtime ("LeanMessage") server, sans-IO (docs/protocols/leancloud.md, seed 002).
//!
//! A [`Hub`] takes [`Event`]s — a WebSocket connection opened with a negotiated
//! [`Subprotocol`], one whole WebSocket message, the connection's end — with the current
//! time, and yields [`Output`]s whose bytes are one WebSocket message each (binary for
//! `lc.protobuf2.*`, base64 text for `lc.proto2base64.*`). The WebSocket handshake, pings and
//! frame boundaries are the driver's business ([`ws`]). State that must survive a restart
//! (conversations, messages, cursors, the patch log) lives in the redb [`Store`]; sessions,
//! devices and will messages live in memory.
//!
//! # Behaviour, and the choices made where the sources are silent
//!
//! * Every command with `i` gets exactly one reply carrying that `i` (and the session's
//!   `peerId`), or `cmd=error` with it; pushes carry no `i`. Every outgoing command names
//!   the session it is for in `peerId`, so several `IMClient`s can share one socket (the SDK
//!   routes by `peerId`). A command without `peerId` is for the connection's first session.
//! * Before `session/open` only `session/open` and `echo` (keep-alive) are served; anything
//!   else gets error 4105 `SESSION_REQUIRED` (with the command's `i`, or as a push).
//! * `session/open` → `session/opened {peerId, serverTs, sessionMessage{st, stTtl}}`. A tag
//!   makes `<peerId, tag>` unique: an older session with the same pair gets
//!   `session/closed {code 4111}` (no `i`) and stops being a session (its socket stays open:
//!   the SDK closes it). A reconnect (`r=true`, the tag taken from the session token `st`
//!   when the SDK leaves it out) that would conflict is refused with error 4111 instead and
//!   the older session stays. No tag: any number of sessions.
//! * A session token names a device: a reconnect presenting it resumes that device, and
//!   the messages pushed to it and not acknowledged are pushed again (redelivery), in order.
//! * After `opened`, in this order: redelivery; for version 3 one `unread` push with a tuple
//!   per conversation that has messages from others after the member's read cursor and
//!   newer than `lastUnreadNotifTime` (newest 50 conversations, `notifTime` strictly
//!   increasing over the server run); for version 1 the messages from others after the
//!   member's ack cursor, at most 20 per conversation (the newest, oldest first, `offline`
//!   set); then one `patch` push with the modifications and recalls after `lastPatchTime`.
//! * `conv/start {m, unique, transient, attr}` → `started {cid, cdate}` (the starter is
//!   always a member; `unique` returns the conversation of exactly those members if there
//!   is one); online members other than the starter get `conv/joined {cid, initBy}`.
//!   `conv/add`, `conv/remove` → `added`/`removed` with `allowedPids`, pushes `joined`/`left`
//!   to the affected and `members_joined`/`members_left` to the others. `conv/query` →
//!   `results` with a JSON array (by `objectId` equality or `$in`, else the asker's
//!   conversations; `m`, `tr`, `c`, `name` and attributes, `lm` and the last message).
//!   `conv/count` → `result {count}`. `conv/update {attr}` merges top-level attributes →
//!   `updated {attrModified}`, the others get `updated {attr, initBy}`. `conv/max_read` →
//!   `max_read {maxAckTimestamp, maxReadTimestamp}` (the newest over the other members;
//!   `maxReadTuples` per member with `queryAllMembers`).
//! * `direct` → `ack {uid, t}` (message id, server timestamp, strictly increasing). Failure
//!   is `ack {code, reason}`: 4401 for an unknown conversation or a non-member. The message
//!   is stored, then pushed as `direct {id, cid, fromPeerId, timestamp, msg|binaryMsg,
//!   mentionPids, mentionAll}` to every other session of every member, the sender's other
//!   devices included. `msg` and `binaryMsg` are carried byte for byte; `pushData` is
//!   accepted and not interpreted. A `direct` repeating a `dt` (client message id) already
//!   acknowledged in that conversation for that sender is acknowledged again with the same
//!   `uid` and `t` and not stored or delivered twice.
//! * Transient messages (`transient=true`, or any message of a transient conversation) are
//!   acknowledged to the sender but not stored, pushed only to online sessions (with
//!   `transient`), never receipted, never redelivered.
//! * Will messages (`will=true`) are acknowledged and kept, one per user (the last wins), not
//!   stored and not delivered; when a user's last session ends without `session/close` the
//!   will goes to the conversation's online members as a `direct` push. `session/close`
//!   discards it.
//! * Receiver `ack {cid, fromts, tots}` (no reply unless it has `i`) clears those messages from
//!   the device's unacknowledged set and moves the member's ack cursor. `read {convs}` moves
//!   the read cursor (to the tuple's `timestamp`, else to the newest message) and resets the
//!   unread count. Receipts (`rcp {id, cid, t, read, from}`) go to the sender's online
//!   sessions only for messages sent with `r=true` in conversations of at most 2 members:
//!   one per `ack`/`read` covering such messages, naming the newest, with `t` the time of
//!   the acknowledgement (covering every earlier message, as seed 002 says).
//! * `patch/modify {patches}` → `patch/modified {lastPatchTime}`: only the sender may modify
//!   or recall (others: error 4403, unknown message: 4404). The patched message goes to every
//!   other session of the members as `patch {patches: [{cid, mid, timestamp, recall, data|
//!   binaryMsg, patchTimestamp, from, mentionPids, mentionAll}]}`. A recalled message loses its
//!   content for good: from then on (the recall push, history, unread) its `data` is the
//!   recalled-message marker [`RECALLED`] (`{"_lctype":-127}`), never the original text or
//!   bytes. docs/protocols/leancloud.md §6.10 says "no content"; the SDK turns a recall into a `RecalledMessage`
//!   only with the marker, and its own tests against the real service expect one
//!   (interop/leancloud/FINDINGS.md §3).
//! * `mentionAll` is repeated as sent (`false` included) in pushes and history.
//! * `logs {cid, t, tIncluded, tt, ttIncluded, l|limit, direction, lctype}` → `logs {logs}`:
//!   direction `OLD` (default) selects the newest `l` messages before `t` (and after `tt`),
//!   `NEW` the oldest `l` after `t` (and before `tt`); either way the items are listed
//!   oldest first, as the SDK's iterator expects (it resumes below `logs[0]`). `l` defaults to
//!   20, at most 1000. Members only (4401).
//! * `session/query {sessionPeerIds}` → `query_result {onlineSessionPeerIds}`; `echo` →
//!   `echo`; `session/close` → `session/closed` (the socket stays open).
//!   Anything else with `i` → error 4200 naming the command; without `i` it is ignored.
//! * A frame that does not decode, or is over [`Limits::max_frame`], gets an `error` push
//!   (4200, or 4109 `FRAME_TOO_LONG`) and the connection is closed. A storage failure is
//!   error 4200.

use std::collections::{BTreeSet, HashMap, VecDeque};

use imspec_codec::leancloud::{
    self as lc, AckCommand, CommandType, ConvCommand, DirectCommand, ErrorCommand, GenericCommand,
    JsonObjectMessage, LogItem, LogsCommand, MaxReadTuple, OpType, PatchCommand, PatchItem,
    QueryDirection, RcpCommand, SessionCommand, Subprotocol, UnreadCommand, UnreadTuple, Version,
};
use serde_json::{Map, Value};

use super::rng::Rng;
use super::time::iso8601_ms;
use super::{ConnId, Mutant, Output};

pub mod fuzz;
pub mod store;
pub mod ws;

pub use imspec_codec::leancloud::Limits;
pub use store::{Store, StoreError};

use store::{Conv, Cursor, Message};

/// The content of a recalled message: the SDK's `RecalledMessage` type (-127), nothing else.
pub const RECALLED: &str = "{\"_lctype\":-127}";
/// Session token lifetime announced in `stTtl` (seconds; LeanCloud's is two days).
pub const SESSION_TTL_S: i32 = 17_280;
/// Most unread tuples in one `unread` push (seed 002).
pub const MAX_UNREAD_CONVS: usize = 50;
/// Most offline messages pushed per conversation in version 1 (seed 002).
pub const MAX_OFFLINE_PER_CONV: usize = 20;
/// Default and largest `logs` page.
pub const DEFAULT_LOGS: usize = 20;
/// The largest `logs` page.
pub const MAX_LOGS: usize = 1000;
/// Most devices (session tokens) remembered; see [`Hub::forget_devices`].
const MAX_DEVICES: usize = 100_000;
/// How many `(sender, cid, dt)` acknowledgements are remembered for de-duplication.
const DEDUP_CAPACITY: usize = 10_000;

/// Error codes (LCJS `src/error.js`).
pub mod code {
    /// `FRAME_TOO_LONG`.
    pub const FRAME_TOO_LONG: i32 = 4109;
    /// `INVALID_LOGIN`: empty or too long `peerId`.
    pub const INVALID_LOGIN: i32 = 4103;
    /// `SESSION_REQUIRED`: a command before `session/open`.
    pub const SESSION_REQUIRED: i32 = 4105;
    /// `SESSION_CONFLICT`.
    pub const SESSION_CONFLICT: i32 = 4111;
    /// `INTERNAL_ERROR`.
    pub const INTERNAL_ERROR: i32 = 4200;
    /// `CONVERSATION_NOT_FOUND`.
    pub const CONVERSATION_NOT_FOUND: i32 = 4303;
    /// `CONVERSATION_MEMBERSHIP_REQUIRED`.
    pub const CONVERSATION_MEMBERSHIP_REQUIRED: i32 = 4317;
    /// `INVALID_MESSAGING_TARGET`: unknown conversation or not a member.
    pub const INVALID_MESSAGING_TARGET: i32 = 4401;
    /// `MESSAGE_OWNERSHIP_REQUIRED`: patching someone else's message.
    pub const MESSAGE_OWNERSHIP_REQUIRED: i32 = 4403;
    /// `MESSAGE_NOT_FOUND`.
    pub const MESSAGE_NOT_FOUND: i32 = 4404;
}

/// Configuration of a [`Hub`]; the default has no mutant and seed 0.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The rule to break, if any.
    pub mutant: Option<Mutant>,
    /// Seed for session tokens, conversation and message ids.
    pub seed: u64,
    /// Frame bounds.
    pub limits: Limits,
}

/// What happened on a WebSocket connection.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// The WebSocket handshake completed with this subprotocol.
    Connected(Subprotocol),
    /// One whole WebSocket message: a binary frame's bytes, or a text frame's UTF-8 bytes.
    Frame(&'a [u8]),
    /// The peer closed or the driver dropped the connection.
    Closed,
}

/// The state of the LeanCloud server.
#[derive(Debug)]
pub struct Hub {
    config: Config,
    rng: Rng,
    store: Store,
    conns: HashMap<ConnId, Conn>,
    /// Open sessions by (connection, peer id).
    sessions: HashMap<(ConnId, String), Session>,
    /// Devices by session token.
    devices: HashMap<String, Device>,
    /// Will messages by user.
    wills: HashMap<String, Will>,
    /// `(sender, cid, dt)` → (uid, t) of acknowledged messages.
    dedup: HashMap<(String, String, String), (String, u64)>,
    dedup_order: VecDeque<(String, String, String)>,
    out: VecDeque<Output>,
}

#[derive(Debug)]
struct Conn {
    proto: Subprotocol,
    /// Peer ids of the sessions open on this connection, in opening order.
    peers: Vec<String>,
}

#[derive(Debug)]
struct Session {
    tag: Option<String>,
    st: String,
}

#[derive(Debug, Default)]
struct Device {
    peer: String,
    tag: Option<String>,
    /// Messages pushed to this device and not acknowledged: (timestamp, cid).
    unacked: BTreeSet<(u64, String)>,
}

#[derive(Debug)]
struct Will {
    cid: String,
    data: Option<String>,
    binary: Option<Vec<u8>>,
    mention_pids: Vec<String>,
    mention_all: bool,
}

/// A failed command: code and reason.
#[derive(Debug)]
struct Refusal(i32, String);

impl Refusal {
    fn new(code: i32, reason: &str) -> Self {
        Self(code, reason.to_owned())
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self(code::INTERNAL_ERROR, e.to_string())
    }
}

type Reply = Result<(), Refusal>;

impl Hub {
    /// A server with no connections, keeping state in `store`.
    pub fn new(config: Config, store: Store) -> Self {
        Self {
            rng: Rng::new(config.seed),
            config,
            store,
            conns: HashMap::new(),
            sessions: HashMap::new(),
            devices: HashMap::new(),
            wills: HashMap::new(),
            dedup: HashMap::new(),
            dedup_order: VecDeque::new(),
            out: VecDeque::new(),
        }
    }

    /// Feeds one event for `conn` at time `now_ms` (Unix milliseconds).
    pub fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>) {
        match event {
            Event::Connected(proto) => {
                self.conns.insert(
                    conn,
                    Conn {
                        proto,
                        peers: Vec::new(),
                    },
                );
            }
            Event::Frame(bytes) => self.on_frame(now_ms, conn, bytes),
            Event::Closed => self.on_closed(now_ms, conn),
        }
    }

    /// The next thing the driver must do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The LeanCloud server has no timers.
    pub fn poll_timeout(&self) -> Option<u64> {
        None
    }

    /// Nothing expires.
    pub fn handle_timeout(&mut self, _now_ms: u64) {}

    /// How many connections are open.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// The subprotocol of an open connection.
    pub fn subprotocol(&self, conn: ConnId) -> Option<Subprotocol> {
        self.conns.get(&conn).map(|c| c.proto)
    }

    fn mutant(&self, m: Mutant) -> bool {
        self.config.mutant == Some(m)
    }

    fn on_frame(&mut self, now_ms: u64, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let format = c.proto.format;
        match lc::decode_with(bytes, format, &self.config.limits) {
            Ok(cmd) => self.on_command(now_ms, conn, cmd),
            Err(e) => {
                let code = if e.kind() == imspec_codec::ErrorKind::LimitExceeded {
                    code::FRAME_TOO_LONG
                } else {
                    code::INTERNAL_ERROR
                };
                let mut err = command(CommandType::Error, None);
                err.error_message = Some(error_body(code, &format!("undecodable frame: {e}")));
                self.send(conn, &err);
                self.close(now_ms, conn);
            }
        }
    }

    fn on_command(&mut self, now_ms: u64, conn: ConnId, cmd: GenericCommand) {
        // Planted bug for `imspec fuzz` (fuzz-only mutant): a server that copies the peer id
        // into a fixed 32-byte buffer.
        if self.mutant(Mutant::LcCrashOnLongPeerId)
            && let Some(p) = cmd.peer_id.as_ref().filter(|p| p.len() > 32)
        {
            panic!(
                "planted bug: a {}-byte peerId overflows its buffer",
                p.len()
            );
        }
        let ct = cmd.command_type();
        let op = cmd.op_type();
        if ct == Some(CommandType::Session) && op == Some(OpType::Open) {
            if let Err(Refusal(code, reason)) = self.open(now_ms, conn, &cmd) {
                self.refuse(conn, None, &cmd, code, &reason);
            }
            return;
        }
        if ct == Some(CommandType::Echo) {
            if cmd.i.is_some() {
                let peer = self.session_of(conn, &cmd);
                let reply = self.reply_to(&cmd, CommandType::Echo, None);
                self.send_to(conn, peer.as_deref(), reply);
            }
            return;
        }
        let peer = match self.session_of(conn, &cmd) {
            Some(p) => p,
            None if self.mutant(Mutant::LcAcceptBeforeOpen) => cmd
                .peer_id
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "anonymous".to_owned()),
            None => {
                self.refuse(
                    conn,
                    None,
                    &cmd,
                    code::SESSION_REQUIRED,
                    "Message sent before session opened.",
                );
                return;
            }
        };
        let result = match (ct, op) {
            (Some(CommandType::Session), Some(OpType::Close)) => {
                self.close_session(now_ms, conn, &peer, &cmd);
                Ok(())
            }
            (Some(CommandType::Session), Some(OpType::Query)) => {
                self.session_query(conn, &peer, &cmd)
            }
            (Some(CommandType::Session), Some(OpType::Refresh)) => {
                let st = self
                    .sessions
                    .get(&(conn, peer.clone()))
                    .map(|s| s.st.clone());
                let mut reply = self.reply_to(&cmd, CommandType::Session, Some(OpType::Refreshed));
                reply.session_message = Some(SessionCommand {
                    st,
                    st_ttl: Some(SESSION_TTL_S),
                    ..SessionCommand::default()
                });
                self.send_to(conn, Some(&peer), reply);
                Ok(())
            }
            (Some(CommandType::Direct), _) => self.direct(now_ms, conn, &peer, &cmd),
            (Some(CommandType::Ack), _) => self.ack(now_ms, conn, &peer, &cmd),
            (Some(CommandType::Read), _) => self.read(now_ms, conn, &peer, &cmd),
            (Some(CommandType::Logs), _) => self.logs(conn, &peer, &cmd),
            (Some(CommandType::Patch), Some(OpType::Modify)) => {
                self.patch(now_ms, conn, &peer, &cmd)
            }
            (Some(CommandType::Conv), Some(OpType::Start)) => {
                self.conv_start(now_ms, conn, &peer, &cmd)
            }
            (Some(CommandType::Conv), Some(OpType::Add)) => {
                self.conv_members(now_ms, conn, &peer, &cmd, true)
            }
            (Some(CommandType::Conv), Some(OpType::Remove)) => {
                self.conv_members(now_ms, conn, &peer, &cmd, false)
            }
            (Some(CommandType::Conv), Some(OpType::Query)) => self.conv_query(conn, &peer, &cmd),
            (Some(CommandType::Conv), Some(OpType::Count)) => self.conv_count(conn, &peer, &cmd),
            (Some(CommandType::Conv), Some(OpType::Update)) => {
                self.conv_update(now_ms, conn, &peer, &cmd)
            }
            (Some(CommandType::Conv), Some(OpType::MaxRead)) => self.max_read(conn, &peer, &cmd),
            _ if cmd.i.is_some() => Err(Refusal(
                code::INTERNAL_ERROR,
                format!(
                    "unsupported command {}/{}",
                    ct.map_or("?", CommandType::as_str),
                    op.map_or("-", OpType::as_str)
                ),
            )),
            _ => Ok(()),
        };
        if let Err(Refusal(code, reason)) = result {
            self.refuse(conn, Some(&peer), &cmd, code, &reason);
        }
    }

    /// The session a command on `conn` is for: its `peerId` if open here, else the first.
    fn session_of(&self, conn: ConnId, cmd: &GenericCommand) -> Option<String> {
        let c = self.conns.get(&conn)?;
        match cmd.peer_id.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => c.peers.iter().find(|q| *q == p).cloned(),
            None => c.peers.first().cloned(),
        }
    }

    // ---- sessions ----------------------------------------------------------------------

    fn open(&mut self, now_ms: u64, conn: ConnId, cmd: &GenericCommand) -> Reply {
        let peer = cmd.peer_id.clone().unwrap_or_default();
        if peer.is_empty() || peer.len() > 64 {
            return Err(Refusal::new(code::INVALID_LOGIN, "invalid peerId"));
        }
        if !self.conns.contains_key(&conn) {
            return Ok(());
        }
        let sm = cmd.session_message.clone().unwrap_or_default();
        let reconnect = sm.r == Some(true);
        // A reconnect presenting a token resumes that device.
        let resumed = sm
            .st
            .as_ref()
            .filter(|st| self.devices.get(*st).is_some_and(|d| d.peer == peer))
            .cloned()
            .filter(|_| reconnect);
        let tag = sm.tag.clone().filter(|t| !t.is_empty()).or_else(|| {
            resumed
                .as_ref()
                .and_then(|st| self.devices.get(st)?.tag.clone())
        });
        // Re-opening on the same socket replaces that session quietly.
        if self.sessions.contains_key(&(conn, peer.clone())) {
            self.drop_session(conn, &peer);
        }
        if let Some(tag) = &tag {
            let rivals: Vec<ConnId> = self
                .sessions
                .iter()
                .filter(|((_, p), s)| *p == peer && s.tag.as_deref() == Some(tag))
                .map(|((c, _), _)| *c)
                .collect();
            if !rivals.is_empty() {
                if reconnect && !self.mutant(Mutant::LcReconnectKicksOld) {
                    return Err(Refusal::new(
                        code::SESSION_CONFLICT,
                        "session conflict: another device holds this tag",
                    ));
                }
                if !self.mutant(Mutant::LcNoConflictClose) {
                    for rival in rivals {
                        let mut closed = command(CommandType::Session, Some(OpType::Closed));
                        closed.session_message = Some(SessionCommand {
                            code: Some(code::SESSION_CONFLICT),
                            reason: Some("logged in on another device".into()),
                            ..SessionCommand::default()
                        });
                        self.send_to(rival, Some(&peer), closed);
                        self.drop_session(rival, &peer);
                    }
                }
            }
        }
        let st = match &resumed {
            Some(st) => st.clone(),
            None => {
                let st = self.rng.hex(16);
                self.forget_devices();
                self.devices.insert(
                    st.clone(),
                    Device {
                        peer: peer.clone(),
                        tag: tag.clone(),
                        unacked: BTreeSet::new(),
                    },
                );
                st
            }
        };
        if let Some(d) = self.devices.get_mut(&st) {
            d.tag.clone_from(&tag);
        }
        self.sessions.insert(
            (conn, peer.clone()),
            Session {
                tag,
                st: st.clone(),
            },
        );
        let version = match self.conns.get_mut(&conn) {
            Some(c) => {
                c.peers.push(peer.clone());
                c.proto.version
            }
            None => return Ok(()),
        };
        let mut reply = self.reply_to(cmd, CommandType::Session, Some(OpType::Opened));
        reply.server_ts = Some(to_i64(now_ms));
        reply.session_message = Some(SessionCommand {
            st: Some(st.clone()),
            st_ttl: Some(SESSION_TTL_S),
            ..SessionCommand::default()
        });
        self.send_to(conn, Some(&peer), reply);

        let mut pushed = BTreeSet::new();
        if resumed.is_some() && !self.mutant(Mutant::LcNoRedelivery) {
            let pending: Vec<(u64, String)> = self
                .devices
                .get(&st)
                .map(|d| d.unacked.iter().cloned().collect())
                .unwrap_or_default();
            for (ts, cid) in pending {
                if let Some(m) = self.store.message(&cid, ts)? {
                    self.send_to(conn, Some(&peer), deliver(&m, false));
                    pushed.insert((ts, cid));
                }
            }
        }
        match version {
            Version::V3 => self.send_unread(now_ms, conn, &peer, sm.last_unread_notif_time)?,
            Version::V1 => self.push_offline(conn, &peer, &st, &pushed)?,
        }
        if let Some(since) = sm.last_patch_time.and_then(|t| u64::try_from(t).ok()) {
            self.sync_patches(conn, &peer, since)?;
        }
        Ok(())
    }

    fn send_unread(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        last_notif: Option<i64>,
    ) -> Reply {
        let since = last_notif.and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
        let since = if self.mutant(Mutant::LcUnreadIgnoresLastNotif) {
            0
        } else {
            since
        };
        let mut tuples = Vec::new();
        for cid in self.store.conversations_of(peer)? {
            let cursor = self.store.cursor(peer, &cid)?;
            let msgs = self.store.range(
                &cid,
                cursor.read.saturating_add(1),
                u64::MAX,
                usize::MAX,
                false,
            )?;
            let theirs: Vec<&Message> = msgs.iter().filter(|m| m.from != peer).collect();
            let Some(last) = theirs.last() else { continue };
            let newest = msgs.last().map_or(0, |m| m.ts.max(m.patch_ts.unwrap_or(0)));
            if newest <= since {
                continue;
            }
            let mentioned = theirs.iter().any(|m| m.mentions(peer))
                && !self.mutant(Mutant::LcUnreadNoMentioned);
            let unread = i32::try_from(theirs.len()).unwrap_or(i32::MAX);
            tuples.push((
                last.ts,
                UnreadTuple {
                    cid: Some(cid.clone()),
                    unread: Some(unread),
                    mid: Some(last.mid.clone()),
                    timestamp: Some(to_i64(last.ts)),
                    from: Some(last.from.clone()),
                    data: content_data(last),
                    binary_msg: content_binary(last),
                    patch_timestamp: last.patch_ts.map(to_i64),
                    mentioned: Some(mentioned),
                    conv_type: None,
                },
            ));
        }
        if tuples.is_empty() {
            return Ok(());
        }
        tuples.sort_by_key(|t| std::cmp::Reverse(t.0));
        tuples.truncate(MAX_UNREAD_CONVS);
        // From the store's clock: after every message it covers (their timestamps run ahead
        // of the wall clock when several arrive within one millisecond) and before every
        // message still to come, which must be listed at a login with this notifTime.
        let notif = self.store.stamp(now_ms)?;
        let mut push = command(CommandType::Unread, None);
        push.unread_message = Some(UnreadCommand {
            convs: tuples.into_iter().map(|(_, t)| t).collect(),
            notif_time: Some(to_i64(notif)),
        });
        self.send_to(conn, Some(peer), push);
        Ok(())
    }

    /// Version 1: push what the member has not acknowledged, at most 20 per conversation.
    fn push_offline(
        &mut self,
        conn: ConnId,
        peer: &str,
        st: &str,
        already: &BTreeSet<(u64, String)>,
    ) -> Reply {
        let cap = if self.mutant(Mutant::LcOfflinePushUnbounded) {
            usize::MAX
        } else {
            MAX_OFFLINE_PER_CONV
        };
        for cid in self.store.conversations_of(peer)? {
            let cursor = self.store.cursor(peer, &cid)?;
            let msgs = self.store.range(
                &cid,
                cursor.acked.saturating_add(1),
                u64::MAX,
                usize::MAX,
                false,
            )?;
            let theirs: Vec<Message> = msgs.into_iter().filter(|m| m.from != peer).collect();
            let skip = theirs.len().saturating_sub(cap);
            for m in theirs.into_iter().skip(skip) {
                if already.contains(&(m.ts, m.cid.clone())) {
                    continue;
                }
                self.send_to(conn, Some(peer), deliver(&m, true));
                if let Some(d) = self.devices.get_mut(st) {
                    d.unacked.insert((m.ts, m.cid.clone()));
                }
            }
        }
        Ok(())
    }

    fn sync_patches(&mut self, conn: ConnId, peer: &str, since: u64) -> Reply {
        let mine: BTreeSet<String> = self.store.conversations_of(peer)?.into_iter().collect();
        let mut items = Vec::new();
        let mut last = since;
        for (cid, ts) in self.store.patches_since(since)? {
            if !mine.contains(&cid) {
                continue;
            }
            if let Some(m) = self.store.message(&cid, ts)?
                && let Some(p) = m.patch_ts.filter(|p| *p > since)
            {
                last = last.max(p);
                items.push(self.patch_item(&m));
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        let mut push = command(CommandType::Patch, Some(OpType::Modify));
        push.patch_message = Some(PatchCommand {
            patches: items,
            last_patch_time: Some(to_i64(last)),
        });
        self.send_to(conn, Some(peer), push);
        Ok(())
    }

    /// Bounds the device table: past [`MAX_DEVICES`], devices without a live session are
    /// forgotten (their token then opens a fresh device).
    fn forget_devices(&mut self) {
        if self.devices.len() < MAX_DEVICES {
            return;
        }
        let live: BTreeSet<&String> = self.sessions.values().map(|s| &s.st).collect();
        let idle: Vec<String> = self
            .devices
            .keys()
            .filter(|st| !live.contains(st))
            .take(self.devices.len() / 2 + 1)
            .cloned()
            .collect();
        for st in idle {
            self.devices.remove(&st);
        }
    }

    fn close_session(&mut self, now_ms: u64, conn: ConnId, peer: &str, cmd: &GenericCommand) {
        let reply = self.reply_to(cmd, CommandType::Session, Some(OpType::Closed));
        self.send_to(conn, Some(peer), reply);
        self.drop_session(conn, peer);
        if self.mutant(Mutant::LcWillOnLogout) {
            self.fire_will(now_ms, peer);
        }
        self.wills.remove(peer);
    }

    fn session_query(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let asked = cmd
            .session_message
            .as_ref()
            .map(|s| s.session_peer_ids.clone())
            .unwrap_or_default();
        let online: Vec<String> = asked
            .into_iter()
            .take(20)
            .filter(|p| self.is_online(p))
            .collect();
        let mut reply = self.reply_to(cmd, CommandType::Session, Some(OpType::QueryResult));
        reply.session_message = Some(SessionCommand {
            online_session_peer_ids: online,
            ..SessionCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }

    fn drop_session(&mut self, conn: ConnId, peer: &str) {
        self.sessions.remove(&(conn, peer.to_owned()));
        if let Some(c) = self.conns.get_mut(&conn) {
            c.peers.retain(|p| p != peer);
        }
    }

    fn on_closed(&mut self, now_ms: u64, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        for peer in c.peers {
            self.sessions.remove(&(conn, peer.clone()));
            if !self.is_online(&peer) {
                self.fire_will(now_ms, &peer);
            }
        }
    }

    fn is_online(&self, peer: &str) -> bool {
        self.sessions.keys().any(|(_, p)| p == peer)
    }

    /// The live sessions of `peer`: (connection, token).
    fn sessions_of(&self, peer: &str) -> Vec<(ConnId, String)> {
        let mut v: Vec<(ConnId, String)> = self
            .sessions
            .iter()
            .filter(|((_, p), _)| p == peer)
            .map(|((c, _), s)| (*c, s.st.clone()))
            .collect();
        v.sort();
        v
    }

    fn fire_will(&mut self, now_ms: u64, peer: &str) {
        let Some(will) = self.wills.remove(peer) else {
            return;
        };
        let Ok(Some(conv)) = self.store.conv(&will.cid) else {
            return;
        };
        let Ok(ts) = self.store.stamp(now_ms) else {
            return;
        };
        let m = Message {
            mid: self.rng.hex(10),
            cid: will.cid,
            from: peer.to_owned(),
            ts,
            data: will.data,
            binary: will.binary,
            mention_pids: will.mention_pids,
            mention_all: will.mention_all,
            ..Message::default()
        };
        let push = deliver(&m, false);
        for member in conv.members.iter().filter(|m| *m != peer) {
            for (c, _) in self.sessions_of(member) {
                self.send_to(c, Some(member), push.clone());
            }
        }
    }

    // ---- messages ----------------------------------------------------------------------

    fn direct(&mut self, now_ms: u64, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let dm = cmd.direct_message.clone().unwrap_or_default();
        let cid = dm.cid.clone().unwrap_or_default();
        let conv = match self.store.conv(&cid)? {
            Some(c) if c.transient || c.members.iter().any(|m| m == peer) => c,
            _ => {
                let mut reply = self.reply_to(cmd, CommandType::Ack, None);
                reply.ack_message = Some(AckCommand {
                    code: Some(code::INVALID_MESSAGING_TARGET),
                    reason: Some("Conversation does not exist or client is not a member.".into()),
                    ..AckCommand::default()
                });
                self.send_to(conn, Some(peer), reply);
                return Ok(());
            }
        };
        let transient = dm.transient == Some(true) || conv.transient;
        let will = dm.will == Some(true);
        let dedup_key = dm
            .dt
            .clone()
            .filter(|_| !transient && !will && !self.mutant(Mutant::LcNoDedup))
            .map(|dt| (peer.to_owned(), cid.clone(), dt));
        if let Some((uid, t)) = dedup_key.as_ref().and_then(|k| self.dedup.get(k)).cloned() {
            self.ack_direct(conn, peer, cmd, uid, t);
            return Ok(());
        }
        let ts = self.store.next_ts(now_ms);
        let m = Message {
            mid: self.rng.hex(10),
            cid: cid.clone(),
            from: peer.to_owned(),
            ts,
            data: dm.msg.clone(),
            binary: dm.binary_msg.clone(),
            mention_pids: dm.mention_pids.clone(),
            mention_all: dm.mention_all == Some(true),
            receipt: dm.r == Some(true) && !transient,
            ..Message::default()
        };
        if will {
            self.wills.insert(
                peer.to_owned(),
                Will {
                    cid,
                    data: m.data,
                    binary: m.binary,
                    mention_pids: m.mention_pids,
                    mention_all: m.mention_all,
                },
            );
            self.ack_direct(conn, peer, cmd, m.mid, ts);
            return Ok(());
        }
        if !transient || self.mutant(Mutant::LcTransientStored) {
            self.store.append(&m)?;
        }
        if let Some(k) = dedup_key {
            self.remember(k, m.mid.clone(), ts);
        }
        self.ack_direct(conn, peer, cmd, m.mid.clone(), ts);
        let mut push = deliver(&m, false);
        if transient && let Some(d) = push.direct_message.as_mut() {
            d.transient = Some(true);
        }
        for member in &conv.members {
            if member == peer && self.mutant(Mutant::LcNoSelfFanout) {
                continue;
            }
            for (c, st) in self.sessions_of(member) {
                if c == conn && member == peer {
                    continue;
                }
                self.send_to(c, Some(member), push.clone());
                if !transient
                    && member != peer
                    && let Some(d) = self.devices.get_mut(&st)
                {
                    d.unacked.insert((ts, cid.clone()));
                }
            }
        }
        Ok(())
    }

    fn ack_direct(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand, uid: String, t: u64) {
        let mut reply = self.reply_to(cmd, CommandType::Ack, None);
        reply.ack_message = Some(AckCommand {
            uid: Some(uid).filter(|_| !self.mutant(Mutant::LcAckWithoutUid)),
            t: Some(to_i64(t)),
            ..AckCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
    }

    fn remember(&mut self, key: (String, String, String), uid: String, t: u64) {
        if self.dedup_order.len() >= DEDUP_CAPACITY
            && let Some(old) = self.dedup_order.pop_front()
        {
            self.dedup.remove(&old);
        }
        self.dedup_order.push_back(key.clone());
        self.dedup.insert(key, (uid, t));
    }

    fn ack(&mut self, now_ms: u64, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let am = cmd.ack_message.clone().unwrap_or_default();
        if let Some(cid) = am.cid.clone() {
            let lo = am.fromts.and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
            let hi = am
                .tots
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(lo)
                .max(lo);
            if let Some(st) = self
                .sessions
                .get(&(conn, peer.to_owned()))
                .map(|s| s.st.clone())
                && let Some(d) = self.devices.get_mut(&st)
            {
                d.unacked
                    .retain(|(ts, c)| !(*c == cid && (lo..=hi).contains(ts)));
            }
            if let Some(conv) = self.store.conv(&cid)?
                && conv.members.iter().any(|m| m == peer)
            {
                let mut cursor = self.store.cursor(peer, &cid)?;
                if hi > cursor.acked {
                    cursor.acked = hi;
                    self.store.set_cursor(peer, &cid, cursor)?;
                }
                self.receipts(now_ms, &conv, peer, lo, hi, false)?;
            }
        }
        if cmd.i.is_some() {
            let reply = self.reply_to(cmd, CommandType::Ack, None);
            self.send_to(conn, Some(peer), reply);
        }
        Ok(())
    }

    /// Marks messages of others in `lo..=hi` that asked for receipts as delivered (or read)
    /// and sends their senders one receipt naming the newest.
    fn receipts(
        &mut self,
        now_ms: u64,
        conv: &Conv,
        peer: &str,
        lo: u64,
        hi: u64,
        read: bool,
    ) -> Reply {
        if conv.members.len() > 2 && !self.mutant(Mutant::LcReceiptInGroup) {
            return Ok(());
        }
        let mut newest: HashMap<String, Message> = HashMap::new();
        // One receipt time from the store's clock, taken only if a receipt is due: after the
        // messages it covers, and before any later message, which a client comparing
        // `lastDeliveredAt`/`lastReadAt` with timestamps would otherwise show as delivered.
        let mut at = None;
        for mut m in self.store.range(&conv.cid, lo, hi, usize::MAX, false)? {
            if m.from == peer || !m.receipt {
                continue;
            }
            if (if read { m.read_at } else { m.ack_at }).is_some() {
                continue;
            }
            let t = match at {
                Some(t) => t,
                None => *at.insert(self.store.stamp(now_ms)?),
            };
            if read {
                m.read_at = Some(t);
            }
            if m.ack_at.is_none() {
                m.ack_at = Some(t);
            }
            self.store.update(&m)?;
            newest.insert(m.from.clone(), m);
        }
        let mut senders: Vec<_> = newest.into_iter().collect();
        senders.sort_by(|a, b| a.0.cmp(&b.0));
        for (sender, m) in senders {
            let mut push = command(CommandType::Rcp, None);
            push.rcp_message = Some(RcpCommand {
                id: Some(m.mid.clone()),
                cid: Some(m.cid.clone()),
                t: at.map(to_i64),
                read: Some(read),
                from: Some(peer.to_owned()),
            });
            for (c, _) in self.sessions_of(&sender) {
                self.send_to(c, Some(&sender), push.clone());
            }
        }
        Ok(())
    }

    fn read(&mut self, now_ms: u64, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let rm = cmd.read_message.clone().unwrap_or_default();
        let mut marks: Vec<(String, Option<i64>)> = rm
            .convs
            .iter()
            .filter_map(|t| Some((t.cid.clone()?, t.timestamp)))
            .collect();
        marks.extend(rm.cid.iter().chain(&rm.cids).map(|c| (c.clone(), None)));
        for (cid, ts) in marks {
            let Some(conv) = self.store.conv(&cid)? else {
                continue;
            };
            if !conv.members.iter().any(|m| m == peer) {
                continue;
            }
            let newest = self
                .store
                .range(&cid, 0, u64::MAX, 1, true)?
                .first()
                .map_or(0, |m| m.ts);
            let upto = ts.and_then(|t| u64::try_from(t).ok()).unwrap_or(newest);
            let mut cursor = self.store.cursor(peer, &cid)?;
            let before = cursor.read;
            if upto > cursor.read {
                cursor.read = upto;
                cursor.acked = cursor.acked.max(upto);
                self.store.set_cursor(peer, &cid, cursor)?;
            }
            self.receipts(now_ms, &conv, peer, before.min(upto), upto, true)?;
        }
        if cmd.i.is_some() {
            let reply = self.reply_to(cmd, CommandType::Read, None);
            self.send_to(conn, Some(peer), reply);
        }
        Ok(())
    }

    fn logs(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let q = cmd.logs_message.clone().unwrap_or_default();
        let cid = q.cid.clone().unwrap_or_default();
        match self.store.conv(&cid)? {
            Some(c) if c.members.iter().any(|m| m == peer) || c.transient => {}
            _ => {
                return Err(Refusal::new(
                    code::INVALID_MESSAGING_TARGET,
                    "Conversation does not exist or client is not a member.",
                ));
            }
        }
        let limit =
            q.l.or(q.limit)
                .and_then(|l| usize::try_from(l).ok())
                .filter(|l| *l > 0)
                .unwrap_or(DEFAULT_LOGS)
                .min(MAX_LOGS);
        let t = q.t.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0);
        let tt = q.tt.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0);
        let t_in = q.t_included == Some(true);
        let tt_in = q.tt_included == Some(true);
        let newer = q.direction == Some(QueryDirection::New as i32);
        let (lo, hi, newest) = if newer {
            (
                t.map_or(0, |t| if t_in { t } else { t.saturating_add(1) }),
                tt.map_or(u64::MAX, |t| if tt_in { t } else { t.saturating_sub(1) }),
                false,
            )
        } else {
            (
                tt.map_or(0, |t| if tt_in { t } else { t.saturating_add(1) }),
                t.map_or(u64::MAX, |t| if t_in { t } else { t.saturating_sub(1) }),
                !self.mutant(Mutant::LcLogsOldestFirst),
            )
        };
        let msgs = match q.lctype {
            Some(ty) => {
                let all = self.store.range(&cid, lo, hi, usize::MAX, newest)?;
                let mut keep: Vec<Message> = all
                    .into_iter()
                    .filter(|m| lctype(m) == Some(i64::from(ty)))
                    .collect();
                if newest {
                    let skip = keep.len().saturating_sub(limit);
                    keep.drain(..skip);
                } else {
                    keep.truncate(limit);
                }
                keep
            }
            None => self.store.range(&cid, lo, hi, limit, newest)?,
        };
        let logs = msgs
            .iter()
            .map(|m| LogItem {
                from: Some(m.from.clone()),
                data: content_data(m).or_else(|| {
                    content_binary(m).map(|b| {
                        use base64::Engine as _;
                        base64::engine::general_purpose::STANDARD.encode(b)
                    })
                }),
                timestamp: Some(to_i64(m.ts)),
                msg_id: Some(m.mid.clone()),
                ack_at: m.ack_at.map(to_i64),
                read_at: m.read_at.map(to_i64),
                patch_timestamp: m.patch_ts.map(to_i64),
                mention_all: Some(m.mention_all),
                mention_pids: m.mention_pids.clone(),
                bin: content_binary(m).map(|_| true),
                conv_type: None,
            })
            .collect();
        let mut reply = self.reply_to(cmd, CommandType::Logs, None);
        reply.logs_message = Some(LogsCommand {
            logs,
            ..LogsCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }

    fn patch(&mut self, now_ms: u64, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let pm = cmd.patch_message.clone().unwrap_or_default();
        let mut found = Vec::new();
        for item in &pm.patches {
            let by_id = match &item.mid {
                Some(mid) => self.store.message_by_id(mid)?,
                None => None,
            };
            let m = match by_id {
                Some(m) => Some(m),
                None => match (
                    &item.cid,
                    item.timestamp.and_then(|t| u64::try_from(t).ok()),
                ) {
                    (Some(cid), Some(ts)) => self.store.message(cid, ts)?,
                    _ => None,
                },
            };
            let Some(m) = m else {
                return Err(Refusal::new(code::MESSAGE_NOT_FOUND, "message not found"));
            };
            if m.from != peer && !self.mutant(Mutant::LcPatchByAnyone) {
                return Err(Refusal::new(
                    code::MESSAGE_OWNERSHIP_REQUIRED,
                    "only the sender may modify or recall a message",
                ));
            }
            found.push((m, item.clone()));
        }
        let mut last = 0;
        let mut pushes: Vec<(Conv, PatchItem)> = Vec::new();
        for (mut m, item) in found {
            let patch_ts = self.store.next_ts(now_ms);
            last = patch_ts;
            m.patch_ts = Some(patch_ts);
            if item.recall == Some(true) {
                m.recalled = true;
                if !self.mutant(Mutant::LcRecallKeepsContent) {
                    m.data = Some(RECALLED.to_owned());
                    m.binary = None;
                }
            } else {
                m.data = item.data.clone();
                m.binary = item.binary_msg.clone();
                m.mention_pids = item.mention_pids.clone();
                m.mention_all = item.mention_all == Some(true);
            }
            self.store.update(&m)?;
            if let Some(conv) = self.store.conv(&m.cid)? {
                pushes.push((conv, self.patch_item(&m)));
            }
        }
        let mut reply = self.reply_to(cmd, CommandType::Patch, Some(OpType::Modified));
        reply.patch_message = Some(PatchCommand {
            patches: Vec::new(),
            last_patch_time: Some(to_i64(last)),
        });
        self.send_to(conn, Some(peer), reply);
        for (conv, item) in pushes {
            let mut push = command(CommandType::Patch, Some(OpType::Modify));
            push.patch_message = Some(PatchCommand {
                last_patch_time: item.patch_timestamp,
                patches: vec![item],
            });
            for member in &conv.members {
                self.push_to(member, &push, conn, peer);
            }
        }
        Ok(())
    }

    fn patch_item(&self, m: &Message) -> PatchItem {
        PatchItem {
            cid: Some(m.cid.clone()),
            mid: Some(m.mid.clone()),
            timestamp: Some(to_i64(m.ts)),
            recall: Some(m.recalled),
            data: content_data(m),
            patch_timestamp: m.patch_ts.map(to_i64),
            from: Some(m.from.clone()),
            binary_msg: content_binary(m),
            mention_all: Some(m.mention_all),
            mention_pids: m.mention_pids.clone(),
            patch_code: None,
            patch_reason: None,
        }
    }

    // ---- conversations -----------------------------------------------------------------

    fn conv_start(&mut self, now_ms: u64, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let mut members: Vec<String> = Vec::new();
        for m in std::iter::once(peer.to_owned()).chain(cm.m.iter().cloned()) {
            if !m.is_empty() && !members.contains(&m) {
                members.push(m);
            }
        }
        let attr = match cm.attr.as_ref().and_then(|a| a.data.as_deref()) {
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(_)) => text.to_owned(),
                _ => {
                    return Err(Refusal::new(
                        code::INTERNAL_ERROR,
                        "attr is not a JSON object",
                    ));
                }
            },
            None => "{}".to_owned(),
        };
        let transient = cm.transient == Some(true);
        let unique = cm.unique == Some(true) && !transient;
        if unique
            && let Some(cid) = self.store.unique(&members)?
            && let Some(conv) = self.store.conv(&cid)?
        {
            let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Started));
            reply.conv_message = Some(ConvCommand {
                cid: Some(cid),
                cdate: Some(iso8601_ms(conv.created_ms)),
                ..ConvCommand::default()
            });
            self.send_to(conn, Some(peer), reply);
            return Ok(());
        }
        let conv = Conv {
            cid: self.rng.hex(12),
            members,
            creator: peer.to_owned(),
            transient,
            unique,
            attr,
            created_ms: now_ms,
            updated_ms: now_ms,
        };
        self.store.put_conv(&conv)?;
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Started));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            cdate: Some(iso8601_ms(now_ms)),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        let mut joined = command(CommandType::Conv, Some(OpType::Joined));
        joined.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            init_by: Some(peer.to_owned()),
            ..ConvCommand::default()
        });
        for member in conv.members.iter().filter(|m| *m != peer) {
            for (c, _) in self.sessions_of(member) {
                self.send_to(c, Some(member), joined.clone());
            }
        }
        Ok(())
    }

    fn conv_members(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
        add: bool,
    ) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let mut conv = self.member_conv(cm.cid.as_deref(), peer)?;
        let mut changed: Vec<String> = Vec::new();
        for m in cm.m.iter().filter(|m| !m.is_empty()) {
            let present = conv.members.contains(m);
            if add != present && !changed.contains(m) {
                changed.push(m.clone());
            }
        }
        if add {
            conv.members.extend(changed.iter().cloned());
        } else {
            conv.members.retain(|m| !changed.contains(m));
        }
        conv.updated_ms = now_ms;
        self.store.put_conv(&conv)?;
        let (reply_op, own_op, others_op) = if add {
            (OpType::Added, OpType::Joined, OpType::MembersJoined)
        } else {
            (OpType::Removed, OpType::Left, OpType::MembersLeft)
        };
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(reply_op));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            allowed_pids: changed.clone(),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        let mut own = command(CommandType::Conv, Some(own_op));
        own.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            init_by: Some(peer.to_owned()),
            ..ConvCommand::default()
        });
        let mut others = command(CommandType::Conv, Some(others_op));
        others.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            m: changed.clone(),
            init_by: Some(peer.to_owned()),
            ..ConvCommand::default()
        });
        let audience: BTreeSet<String> =
            conv.members.iter().chain(changed.iter()).cloned().collect();
        for member in &audience {
            let push = if changed.contains(member) {
                &own
            } else {
                &others
            };
            self.push_to(member, push, conn, peer);
        }
        Ok(())
    }

    fn member_conv(&self, cid: Option<&str>, peer: &str) -> Result<Conv, Refusal> {
        let cid = cid.unwrap_or_default();
        match self.store.conv(cid)? {
            Some(c) if c.members.iter().any(|m| m == peer) || c.transient => Ok(c),
            Some(_) => Err(Refusal::new(
                code::CONVERSATION_MEMBERSHIP_REQUIRED,
                "not a member of the conversation",
            )),
            None => Err(Refusal::new(
                code::CONVERSATION_NOT_FOUND,
                "conversation not found",
            )),
        }
    }

    fn conv_query(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let filter: Map<String, Value> = cm
            .r#where
            .as_ref()
            .and_then(|w| w.data.as_deref())
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        let ids: Option<Vec<String>> = match filter.get("objectId") {
            Some(Value::String(s)) => Some(vec![s.clone()]),
            Some(Value::Object(o)) => o.get("$in").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            }),
            _ => None,
        };
        let candidates = match (&ids, cm.temp_conv_ids.is_empty()) {
            (Some(ids), _) => ids.clone(),
            (None, false) => Vec::new(),
            (None, true) => self.store.conversations_of(peer)?,
        };
        let all_of: Vec<String> = match filter.get("m") {
            Some(Value::Object(o)) => o
                .get("$all")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let mut convs = Vec::new();
        for cid in candidates {
            if let Some(c) = self.store.conv(&cid)?
                && all_of.iter().all(|m| c.members.contains(m))
            {
                convs.push(c);
            }
        }
        convs.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then(a.cid.cmp(&b.cid)));
        let skip = cm.skip.and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let limit = cm
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| *l > 0)
            .unwrap_or(10)
            .min(1000);
        let mut results = Vec::new();
        for c in convs.into_iter().skip(skip).take(limit) {
            results.push(self.conv_json(&c)?);
        }
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Results));
        reply.conv_message = Some(ConvCommand {
            results: Some(JsonObjectMessage {
                data: Some(Value::Array(results).to_string()),
            }),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }

    /// A conversation as `_Conversation` JSON (`objectId`, `m`, `c`, `tr`, attributes, `lm`,
    /// last message).
    fn conv_json(&self, c: &Conv) -> Result<Value, StoreError> {
        let mut o: Map<String, Value> = serde_json::from_str(&c.attr).unwrap_or_default();
        o.insert("objectId".into(), c.cid.clone().into());
        o.insert("m".into(), c.members.clone().into());
        o.insert("c".into(), c.creator.clone().into());
        o.insert("tr".into(), c.transient.into());
        o.insert("unique".into(), c.unique.into());
        o.insert("createdAt".into(), iso8601_ms(c.created_ms).into());
        o.insert("updatedAt".into(), iso8601_ms(c.updated_ms).into());
        if let Some(last) = self.store.range(&c.cid, 0, u64::MAX, 1, true)?.pop() {
            o.insert(
                "lm".into(),
                serde_json::json!({"__type": "Date", "iso": iso8601_ms(last.ts)}),
            );
            if let Some(data) = content_data(&last) {
                o.insert("msg".into(), data.into());
            } else if let Some(bin) = content_binary(&last) {
                use base64::Engine as _;
                o.insert(
                    "msg".into(),
                    base64::engine::general_purpose::STANDARD.encode(bin).into(),
                );
                o.insert("bin".into(), true.into());
            }
            o.insert("msg_from".into(), last.from.clone().into());
            o.insert("msg_mid".into(), last.mid.clone().into());
            o.insert("msg_timestamp".into(), last.ts.into());
            if let Some(p) = last.patch_ts {
                o.insert("patch_timestamp".into(), p.into());
            }
        }
        Ok(Value::Object(o))
    }

    fn conv_count(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let conv = self.member_conv(cm.cid.as_deref(), peer)?;
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Result));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            count: Some(i32::try_from(conv.members.len()).unwrap_or(i32::MAX)),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }

    fn conv_update(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let mut conv = self.member_conv(cm.cid.as_deref(), peer)?;
        let Some(Value::Object(changes)) = cm
            .attr
            .as_ref()
            .and_then(|a| a.data.as_deref())
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        else {
            return Err(Refusal::new(
                code::INTERNAL_ERROR,
                "attr is not a JSON object",
            ));
        };
        let mut attrs: Map<String, Value> = serde_json::from_str(&conv.attr).unwrap_or_default();
        for (k, v) in &changes {
            // The SDK writes custom attributes as `attr.key`; keep them under that name.
            attrs.insert(k.clone(), v.clone());
        }
        conv.attr = Value::Object(attrs).to_string();
        conv.updated_ms = now_ms;
        self.store.put_conv(&conv)?;
        let modified = JsonObjectMessage {
            data: Some(Value::Object(changes).to_string()),
        };
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Updated));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            udate: Some(iso8601_ms(now_ms)),
            attr_modified: Some(modified.clone()),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        let mut push = command(CommandType::Conv, Some(OpType::Updated));
        push.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            init_by: Some(peer.to_owned()),
            udate: Some(iso8601_ms(now_ms)),
            attr: Some(modified),
            ..ConvCommand::default()
        });
        for member in &conv.members {
            self.push_to(member, &push, conn, peer);
        }
        Ok(())
    }

    fn max_read(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let conv = self.member_conv(cm.cid.as_deref(), peer)?;
        let mut tuples = Vec::new();
        let (mut ack, mut read) = (0u64, 0u64);
        for member in conv.members.iter().filter(|m| *m != peer) {
            let c: Cursor = self.store.cursor(member, &conv.cid)?;
            ack = ack.max(c.acked);
            read = read.max(c.read);
            tuples.push(MaxReadTuple {
                pid: Some(member.clone()),
                max_ack_timestamp: Some(to_i64(c.acked)),
                max_read_timestamp: Some(to_i64(c.read)),
            });
        }
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::MaxRead));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            max_ack_timestamp: Some(to_i64(ack)),
            max_read_timestamp: Some(to_i64(read)),
            max_read_tuples: if cm.query_all_members == Some(true) {
                tuples
            } else {
                Vec::new()
            },
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }

    // ---- output ------------------------------------------------------------------------

    /// A reply skeleton: the request's `i` (off by one for the mutant).
    fn reply_to(
        &self,
        cmd: &GenericCommand,
        ct: CommandType,
        op: Option<OpType>,
    ) -> GenericCommand {
        let mut r = command(ct, op);
        r.i = cmd.i.map(|i| {
            if self.mutant(Mutant::LcReplyWrongI) {
                i.wrapping_add(1)
            } else {
                i
            }
        });
        r
    }

    /// Error 4xxx for `cmd`: `cmd=error` with its `i`, or an error push if it had none.
    fn refuse(
        &mut self,
        conn: ConnId,
        peer: Option<&str>,
        cmd: &GenericCommand,
        code: i32,
        reason: &str,
    ) {
        let mut err = self.reply_to(cmd, CommandType::Error, None);
        err.error_message = Some(error_body(code, reason));
        let peer = peer.map(str::to_owned).or_else(|| cmd.peer_id.clone());
        self.send_to(conn, peer.as_deref(), err);
    }

    /// Sends `push` to every live session of `member` but the one it answers: connection
    /// `conn` of `peer`, which got the reply instead.
    fn push_to(&mut self, member: &str, push: &GenericCommand, conn: ConnId, peer: &str) {
        for (c, _) in self.sessions_of(member) {
            if c == conn && member == peer {
                continue;
            }
            self.send_to(c, Some(member), push.clone());
        }
    }

    fn send_to(&mut self, conn: ConnId, peer: Option<&str>, mut cmd: GenericCommand) {
        if let Some(p) = peer {
            cmd.peer_id = Some(p.to_owned());
        }
        self.send(conn, &cmd);
    }

    fn send(&mut self, conn: ConnId, cmd: &GenericCommand) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let mut bytes = Vec::new();
        lc::encode(cmd, c.proto.format, &mut bytes);
        self.out.push_back(Output::Send { conn, bytes });
    }

    /// Asks the driver to close `conn` and forgets it at once (an unexpected end for its
    /// sessions: their will messages go out).
    fn close(&mut self, now_ms: u64, conn: ConnId) {
        self.out.push_back(Output::Close { conn });
        self.on_closed(now_ms, conn);
    }
}

fn command(ct: CommandType, op: Option<OpType>) -> GenericCommand {
    GenericCommand {
        cmd: Some(ct as i32),
        op: op.map(|o| o as i32),
        ..GenericCommand::default()
    }
}

fn error_body(code: i32, reason: &str) -> ErrorCommand {
    ErrorCommand {
        code: Some(code),
        reason: Some(reason.to_owned()),
        ..ErrorCommand::default()
    }
}

/// The `direct` push of a stored message.
fn deliver(m: &Message, offline: bool) -> GenericCommand {
    let mut push = command(CommandType::Direct, None);
    push.direct_message = Some(DirectCommand {
        msg: content_data(m),
        binary_msg: content_binary(m),
        id: Some(m.mid.clone()),
        cid: Some(m.cid.clone()),
        from_peer_id: Some(m.from.clone()),
        timestamp: Some(to_i64(m.ts)),
        offline: Some(true).filter(|_| offline),
        patch_timestamp: m.patch_ts.map(to_i64),
        mention_pids: m.mention_pids.clone(),
        mention_all: Some(m.mention_all),
        ..DirectCommand::default()
    });
    push
}

/// The text content as sent, unless recalled (the mutant keeps it).
fn content_data(m: &Message) -> Option<String> {
    m.data.clone()
}

fn content_binary(m: &Message) -> Option<Vec<u8>> {
    m.binary.clone()
}

/// The `_lctype` of a typed message's JSON content.
fn lctype(m: &Message) -> Option<i64> {
    let v: Value = serde_json::from_str(m.data.as_deref()?).ok()?;
    v.get("_lctype")?.as_i64()
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
