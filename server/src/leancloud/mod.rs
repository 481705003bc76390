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
use super::{ConnId, Mutant, Output};
use imspec_codec::date::format_iso8601_ms;

mod conversation;
mod logs;
mod messages;
mod session;
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
