//! The Fetion SIP-C reference server, sans-IO: one [`Hub`] owns the state of the main server
//! and the chat server (docs/protocols/fetion.md; exchange of seed 004, §8).
//!
//! The driver feeds it [`Event`]s (`Connected`, `Data`, `Closed`) with the current time and
//! polls [`Output`]s (bytes to send, connections to close). There is no socket, clock or
//! randomness inside (the generator is seeded by the caller), so whole conversations run in
//! memory and deterministically.
//!
//! # Behaviour and the choices made where the sources are silent
//!
//! * Main server login: `R` without `A:` (or with a nonce this connection was not given) →
//!   `401 Unauthorized` with `W: Digest algorithm="MD5",nonce="<32 HEX>"`; `R` with
//!   `A: Digest response="…",cnonce="…"` is checked against the SIP-C/2.0 MD5 digest
//!   ([`fetion_digest`](imspec_codec::sipc::digest::fetion_digest), key from `F:` = sid); a wrong response or an unknown
//!   account → `403 Forbidden` (a credential was presented and refused; the nonce is spent).
//!   Success → `200 OK`. A later `R` is a keep-alive (`200 OK`); `R` with `X: 0` logs out.
//!   With [`Login::Open`] (`imspec serve --fetion-login open`) the first `R` naming an
//!   account in `F:` is answered `200 OK` and logs in, with no challenge and no `A:` read: a
//!   server that trusts its network, as deployments behind an SSO front did; an empty `F:`
//!   or an unknown account → `403 Forbidden`.
//! * `S` with `N: StartChat` → `200 OK` with `A: CS address="<chat host:port>",credential="<n>.<n>"`.
//!   Credentials are one-time and expire after [`CREDENTIAL_TTL_MS`].
//! * Chat server `R` with `A: TICKS auth="<credential>"`: an unknown, spent, expired credential
//!   or one issued to another sid → `403 Forbidden`; else `200 OK` with the conversation's
//!   `XI`, `X: 1200` and the server's `K` list. Once two or more members are registered,
//!   each gets `BN <sid>` `N: Conversation` `UserEntered` naming the other(s): first the
//!   members already there, then the newcomer (seed order).
//! * `S` `N: InviteBuddy` on the chat server: `200 OK` to the inviter and an `I` to each
//!   invitee's main connection (`F`, `A: CS …` with a fresh credential, a negative `I`, `K`
//!   list, `XI`, `L`, `Q: <n> I`, `AL: buddy`, body `s=session` `m=message` `a=user:` per
//!   participant). No invitee online → `404 Not Found` (MAPLE has no 480; 404 "not found"
//!   names the missing endpoint).
//! * `M` on the chat server is relayed to every other registered member as
//!   `M <sid>` with `I`, `Q`, `F: sip:<sender>@fetion.com.cn;p=<n>`, `C`, `K`, `L`, `D`, `XI`.
//!   The sender's `200 OK` (same `D` and `XI`) is sent once every receiver's `200` came back
//!   (seed order); after [`RELAY_TIMEOUT_MS`] without all answers it is sent anyway if any
//!   receiver answered, else `504 Server Time-out`. No other member → `404 Not Found`.
//! * `B` leaves the conversation (`200 OK`); the others get `BN` `UserLeft`. Closing the chat
//!   connection leaves too.
//! * Responses echo `I:` and `Q:` byte for byte and use the request's version token;
//!   server-originated requests use the version the receiving connection registered with.
//! * A request without `I:` or `Q:` → `400 Bad Request`. Unknown method or `N:` event →
//!   `420 Bad Extension`. A request needing a login on a connection without one →
//!   `401 Unauthorized`.
//! * Malformed frames: when the head can be delimited (a blank line within
//!   [`Limits::max_head`]), `400 Bad Request` echoing those of its `I:`/`Q:` values that a
//!   valid frame can carry (one with a bare CR, say, is left out), and
//!   the frame (plus an `L:` body if `L` is a number) is skipped; otherwise, or past the
//!   size bound, that one connection is closed.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use imspec_codec::sipc::header::{Address, Auth};
use imspec_codec::sipc::{self, Limits, Message, Version, body};
use imspec_codec::{ErrorKind, Status};

use super::rng::Rng;
use super::{ConnId, Event, Mutant, Output, Service};
use imspec_codec::date::format_rfc1123;
use imspec_codec::sipc::digest::FETION_DOMAIN;

use crate::accounts::Accounts;

/// How long a StartChat/INVITE credential stays valid.
pub const CREDENTIAL_TTL_MS: u64 = 5 * 60 * 1000;
/// How long the sender's `200 OK` waits for the receivers' `200`s.
pub const RELAY_TIMEOUT_MS: u64 = 10 * 1000;

/// How long [`Mutant::FetionRelaySometimesLate`] holds a relayed `M` back: past any step
/// timeout of a scenario run (5 s unscaled).
pub const LATE_MS: u64 = 60 * 1000;
/// The `K:` list the chat server answers with (seed 004).
pub const SERVER_K: &[&str] = &[
    "text/plain",
    "text/html-fragment",
    "multiparty",
    "nudge",
    "share-background",
    "fetion-show",
];
/// The `X:` expiry on a chat-server registration (seed 004).
pub const CHAT_EXPIRES: &str = "1200";

/// Configuration of a [`Hub`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Who may log in.
    pub accounts: Accounts,
    /// The rule to break, if any.
    pub mutant: Option<Mutant>,
    /// The chat server's `host:port`, as `A: CS address="…"` names it.
    pub chat_address: String,
    /// Seed for nonces, credentials and XIs.
    pub seed: u64,
    /// Framing bounds.
    pub limits: Limits,
    /// How the main server logs a connection in.
    pub login: Login,
}

/// How the main server answers `R` on a connection that is not logged in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Login {
    /// `401` with a Digest nonce, then the SIP-C/2.0 MD5 response is checked (the default).
    #[default]
    Digest,
    /// The first `R` naming a known account is answered `200 OK`: no challenge.
    Open,
}

impl std::str::FromStr for Login {
    type Err = String;
    /// `digest` or `open` (`imspec serve --fetion-login`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "digest" => Ok(Self::Digest),
            "open" => Ok(Self::Open),
            _ => Err(format!("unknown Fetion login mode `{s}` (digest, open)")),
        }
    }
}

impl Config {
    /// Open accounts, no mutant, the given chat address, seed 0, default limits.
    pub fn new(chat_address: impl Into<String>) -> Self {
        Self {
            accounts: Accounts::open(),
            mutant: None,
            chat_address: chat_address.into(),
            seed: 0,
            limits: Limits::default(),
            login: Login::Digest,
        }
    }
}

/// The state of the Fetion main and chat servers.
#[derive(Debug)]
pub struct Hub {
    config: Config,
    rng: Rng,
    conns: HashMap<ConnId, Conn>,
    /// sid → its main-server connection.
    online: HashMap<String, ConnId>,
    tickets: HashMap<String, Ticket>,
    chats: HashMap<u64, Chat>,
    next_chat: u64,
    relays: HashMap<u64, Relay>,
    /// (receiver connection, receiver-side CSeq number) → relay id.
    relay_by_txn: HashMap<(ConnId, u32), u64>,
    next_relay: u64,
    /// Relayed `M`s held back by [`Mutant::FetionRelaySometimesLate`]: (due time, receiver,
    /// the message).
    late: Vec<(u64, ConnId, Message<'static>)>,
    next_invite_call: i64,
    next_invite_cseq: u32,
    out: VecDeque<Output>,
}

#[derive(Debug)]
struct Conn {
    service: Service,
    buf: Vec<u8>,
    /// Body bytes still to drop after a malformed head with an `L:`.
    discard: usize,
    version: Version,
    /// Last CSeq number used by server-originated requests on this connection.
    cseq: u32,
    /// Main: the logged-in sid. Chat: the registered member's sid.
    sid: Option<String>,
    /// Main: the nonce of the last 401.
    nonce: Option<String>,
    /// Chat: the conversation joined and the call-id of the registering `R`.
    chat: Option<(u64, String)>,
}

#[derive(Debug)]
struct Ticket {
    sid: String,
    chat: u64,
    expires_ms: u64,
}

#[derive(Debug)]
struct Chat {
    xi: String,
    /// Registered members: (sid, chat connection).
    members: Vec<(String, ConnId)>,
}

#[derive(Debug)]
struct Relay {
    sender: ConnId,
    reply: Message<'static>,
    waiting: usize,
    acked: usize,
    deadline_ms: u64,
}

impl Hub {
    /// A server with no connections.
    pub fn new(config: Config) -> Self {
        Self {
            rng: Rng::new(config.seed),
            config,
            conns: HashMap::new(),
            online: HashMap::new(),
            tickets: HashMap::new(),
            chats: HashMap::new(),
            next_chat: 1,
            relays: HashMap::new(),
            relay_by_txn: HashMap::new(),
            next_relay: 1,
            late: Vec::new(),
            next_invite_call: -11,
            next_invite_cseq: 200_001,
            out: VecDeque::new(),
        }
    }

    /// Feeds one event for `conn` at time `now_ms` (Unix milliseconds).
    pub fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>) {
        match event {
            Event::Connected(service) => {
                let c = Conn {
                    service,
                    buf: Vec::new(),
                    discard: 0,
                    version: Version::V2,
                    cseq: 1,
                    sid: None,
                    nonce: None,
                    chat: None,
                };
                self.conns.insert(conn, c);
            }
            Event::Data(bytes) => self.on_data(now_ms, conn, bytes),
            Event::Closed => self.drop_conn(conn),
        }
        self.handle_timeout(now_ms);
    }

    /// The next thing the driver must do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) has work to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        let relays = self.relays.values().map(|r| r.deadline_ms);
        relays.chain(self.late.iter().map(|l| l.0)).min()
    }

    /// Expires relays whose receivers did not answer in time (and sends the late `M`s of
    /// [`Mutant::FetionRelaySometimesLate`] that are due).
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let (due, later) = std::mem::take(&mut self.late)
            .into_iter()
            .partition(|l| l.0 <= now_ms);
        self.late = later;
        for (_, conn, m) in due {
            self.send(conn, &m);
        }
        let due: Vec<u64> = self
            .relays
            .iter()
            .filter(|(_, r)| r.deadline_ms <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.finish_relay(id);
        }
    }

    /// How many connections are open.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    fn on_data(&mut self, now_ms: u64, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let mut bytes = bytes;
        if c.discard > 0 {
            let n = c.discard.min(bytes.len());
            c.discard -= n;
            bytes = bytes.get(n..).unwrap_or_default();
        }
        c.buf.extend_from_slice(bytes);
        let mut buf = std::mem::take(&mut c.buf);
        let limits = self.config.limits;
        let mut used = 0;
        let mut close = false;
        while used < buf.len() {
            let rest = buf.get(used..).unwrap_or_default();
            match sipc::parse_with(rest, &limits) {
                Ok(Status::Complete((msg, n))) => {
                    used += n;
                    self.on_message(now_ms, conn, &msg);
                }
                Ok(Status::Incomplete(_)) => break,
                Err(e) => match self.resync(conn, rest, e.kind()) {
                    Resync::Skip(n) => used += n,
                    Resync::Wait => break,
                    Resync::Close => {
                        close = true;
                        break;
                    }
                },
            }
            if !self.conns.contains_key(&conn) {
                return;
            }
        }
        if close {
            self.close(conn);
            return;
        }
        buf.drain(..used.min(buf.len()));
        if let Some(c) = self.conns.get_mut(&conn) {
            c.buf = buf;
        }
    }

    /// After a parse error: answer `400` and skip the frame if its head can be delimited.
    fn resync(&mut self, conn: ConnId, rest: &[u8], kind: ErrorKind) -> Resync {
        let max_head = self.config.limits.max_head;
        let head_end = find(rest, b"\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| find(rest, b"\n\n").map(|i| i + 2));
        let Some(head_end) = head_end.filter(|&h| h <= max_head) else {
            // The head may still be arriving in small pieces; wait for its end within the bound.
            return if rest.len() > max_head || kind == ErrorKind::LimitExceeded {
                Resync::Close
            } else {
                Resync::Wait
            };
        };
        let head = String::from_utf8_lossy(rest.get(..head_end).unwrap_or_default()).into_owned();
        let line = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| {
                    v.strip_prefix(' ')
                        .unwrap_or(v)
                        .trim_end_matches('\r')
                        .to_owned()
                })
            })
        };
        let huge_l = line("L").is_some_and(|l| {
            let l = l.trim();
            !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) && l.parse::<usize>().is_err()
        });
        if huge_l && self.mutant(Mutant::FetionHugeLCrashes) {
            // Every other connection here; `conn` itself is closed by the caller.
            let others: Vec<ConnId> = self.conns.keys().copied().filter(|c| *c != conn).collect();
            for c in others {
                self.close(c);
            }
            return Resync::Close;
        }
        let version = if head.lines().next().is_some_and(|l| l.contains("SIP-C/4.0")) {
            Version::V4
        } else {
            Version::V2
        };
        let mut reply = Message::response(version, 400, "Bad Request");
        for name in ["I", "Q"] {
            // The malformed head may hold a bare CR, a leading space or anything else in these
            // values: echo one only if the 400 carrying it decodes with that same value.
            if let Some(value) = line(name).filter(|v| echoable(version, name, v)) {
                reply.headers.push(name, value);
            }
        }
        if !self.mutant(Mutant::FetionMalformedIgnored) {
            self.send(conn, &reply);
        }
        let body = line("L")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .filter(|&l| l <= self.config.limits.max_body)
            .unwrap_or(0);
        let available = rest.len() - head_end;
        if body > available {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.discard = body - available;
            }
            Resync::Skip(rest.len())
        } else {
            Resync::Skip(head_end + body)
        }
    }

    fn on_message(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>) {
        // Planted bug for `imspec fuzz` (fuzz-only mutant): a server that copies the Call-ID
        // into a fixed 32-byte buffer.
        if self.mutant(Mutant::FetionCrashOnLongCallId)
            && let Some(i) = msg.header("I").filter(|i| i.len() > 32)
        {
            panic!("planted bug: a {}-byte I: overflows its buffer", i.len());
        }
        let Some(method) = msg.method().map(|m| m.as_str().to_owned()) else {
            self.on_response(conn, msg);
            return;
        };
        if msg.header("I").is_none() || msg.header("Q").is_none() {
            self.reply(conn, msg, 400, "Bad Request");
            return;
        }
        let Some(service) = self.conns.get(&conn).map(|c| c.service) else {
            return;
        };
        match (service, method.as_str()) {
            (Service::FetionChat, "R") => self.chat_register(now_ms, conn, msg),
            (_, "R") => self.main_register(now_ms, conn, msg),
            (Service::FetionChat, "S") => self.chat_service(now_ms, conn, msg),
            (Service::FetionChat, "M") => self.chat_message(now_ms, conn, msg),
            (Service::FetionChat, "B") => {
                if self.chat_of(conn).is_none() {
                    return self.reply(conn, msg, 401, "Unauthorized");
                }
                self.reply(conn, msg, 200, "OK");
                self.leave_chat(conn);
            }
            (_, "S") => self.main_service(now_ms, conn, msg),
            _ => self.reply(conn, msg, 420, "Bad Extension"),
        }
    }

    fn on_response(&mut self, conn: ConnId, msg: &Message<'_>) {
        let Some(n) = msg
            .header("Q")
            .and_then(|q| q.split_whitespace().next())
            .and_then(|n| n.parse::<u32>().ok())
        else {
            return;
        };
        let Some(id) = self.relay_by_txn.remove(&(conn, n)) else {
            return;
        };
        if let Some(r) = self.relays.get_mut(&id) {
            r.waiting = r.waiting.saturating_sub(1);
            if msg.status().is_some_and(|s| (200..300).contains(&s)) {
                r.acked += 1;
            }
            if r.waiting == 0 {
                self.finish_relay(id);
            }
        }
    }

    fn main_register(&mut self, _now_ms: u64, conn: ConnId, msg: &Message<'_>) {
        let version = msg.version();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.version = version;
        if let Some(sid) = c.sid.clone() {
            // Keep-alive, or logout with `X: 0`.
            if msg.header("X").is_some_and(|x| x.trim() == "0") {
                c.sid = None;
                if self.online.get(&sid) == Some(&conn) {
                    self.online.remove(&sid);
                }
            }
            return self.reply(conn, msg, 200, "OK");
        }
        let sid = msg
            .header("F")
            .map(|f| f.trim().to_owned())
            .unwrap_or_default();
        if self.config.login == Login::Open {
            if sid.is_empty() || !self.config.accounts.exists(&sid) {
                return self.reply(conn, msg, 403, "Forbidden");
            }
            return self.log_in(conn, msg, sid);
        }
        let nonce = c.nonce.clone();
        let digest = match msg.auth_with(&self.auth_limits()) {
            Some(Ok(Auth::Digest { params })) => Some(params),
            _ => None,
        };
        match (digest, nonce) {
            (Some(params), Some(nonce)) => {
                let c = self.conns.get_mut(&conn);
                if let Some(c) = c {
                    c.nonce = None;
                }
                let response = params.get("response").unwrap_or_default();
                let cnonce = params.get("cnonce").unwrap_or_default();
                let ok = !sid.is_empty()
                    && (self.mutant(Mutant::FetionAcceptBadPassword)
                        || self
                            .config
                            .accounts
                            .check_fetion_digest(&sid, &nonce, cnonce, response));
                if !ok {
                    return self.reply(conn, msg, 403, "Forbidden");
                }
                self.log_in(conn, msg, sid);
            }
            _ => {
                let nonce = self.rng.hex(16).to_ascii_uppercase();
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.nonce = Some(nonce.clone());
                }
                let mut r = self.response_to(msg, 401, "Unauthorized");
                r.headers
                    .push("W", format!("Digest algorithm=\"MD5\",nonce=\"{nonce}\""));
                self.send(conn, &r);
            }
        }
    }

    /// `conn` is `sid`'s main connection from now on; answers `msg` `200 OK`.
    fn log_in(&mut self, conn: ConnId, msg: &Message<'_>, sid: String) {
        if let Some(old) = self
            .online
            .insert(sid.clone(), conn)
            .filter(|&old| old != conn)
        {
            // A newer login replaces the old one (a client reconnecting).
            if let Some(c) = self.conns.get_mut(&old) {
                c.sid = None;
            }
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.sid = Some(sid);
        }
        self.reply(conn, msg, 200, "OK");
    }

    fn main_service(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>) {
        let Some(sid) = self.conns.get(&conn).and_then(|c| c.sid.clone()) else {
            return self.reply(conn, msg, 401, "Unauthorized");
        };
        match msg.header("N").map(str::trim) {
            Some("StartChat") => {
                let chat = self.new_chat();
                let cred = self.issue_ticket(now_ms, &sid, chat);
                let mut r = self.response_to(msg, 200, "OK");
                let address = match self.config.chat_address.rsplit_once(':') {
                    Some((host, _)) if self.mutant(Mutant::FetionStartchatNoPort) => host,
                    _ => self.config.chat_address.as_str(),
                };
                r.headers.push(
                    "A",
                    format!("CS address=\"{address}\",credential=\"{cred}\""),
                );
                self.send(conn, &r);
            }
            Some("KeepAlive" | "SetPresence" | "SetPresenceV4" | "PresenceV4") => {
                self.reply(conn, msg, 200, "OK");
            }
            _ => self.reply(conn, msg, 420, "Bad Extension"),
        }
    }

    fn chat_register(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>) {
        let version = msg.version();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.version = version;
        }
        if let Some((chat, _)) = self.chat_of(conn) {
            // Re-registration on a joined connection: a keep-alive.
            let xi = self
                .chats
                .get(&chat)
                .map(|c| c.xi.clone())
                .unwrap_or_default();
            return self.send_register_ok(conn, msg, &xi);
        }
        let sid = msg
            .header("F")
            .map(|f| f.trim().to_owned())
            .unwrap_or_default();
        let cred = match msg.auth_with(&self.auth_limits()) {
            Some(Ok(Auth::Ticks { auth })) => Some(auth.into_owned()),
            _ => None,
        };
        let ticket = cred.as_deref().and_then(|c| self.tickets.remove(c));
        let chat = match ticket {
            Some(t)
                if t.sid == sid && t.expires_ms > now_ms && self.chats.contains_key(&t.chat) =>
            {
                Some(t.chat)
            }
            Some(t)
                if self.mutant(Mutant::FetionAcceptBadCredential)
                    && self.chats.contains_key(&t.chat) =>
            {
                Some(t.chat)
            }
            _ if self.mutant(Mutant::FetionAcceptBadCredential) && !sid.is_empty() => {
                Some(self.new_chat())
            }
            _ => None,
        };
        let Some(chat) = chat else {
            return self.reply(conn, msg, 403, "Forbidden");
        };
        let call = msg.header("I").unwrap_or_default().to_owned();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.sid = Some(sid.clone());
            c.chat = Some((chat, call));
        }
        let (xi, others) = match self.chats.get_mut(&chat) {
            Some(ch) => {
                let others: Vec<(String, ConnId)> = ch.members.clone();
                ch.members.push((sid.clone(), conn));
                (ch.xi.clone(), others)
            }
            None => return,
        };
        self.send_register_ok(conn, msg, &xi);
        if others.is_empty() || self.mutant(Mutant::FetionNoUserEntered) {
            return;
        }
        if !self.mutant(Mutant::FetionUserEnteredOneParty) {
            for (_, other) in &others {
                self.send_bn(*other, "UserEntered", std::slice::from_ref(&sid));
            }
        }
        let names: Vec<String> = others.into_iter().map(|(s, _)| s).collect();
        self.send_bn(conn, "UserEntered", &names);
    }

    fn send_register_ok(&mut self, conn: ConnId, msg: &Message<'_>, xi: &str) {
        let mut r = self.response_to(msg, 200, "OK");
        r.headers.push("XI", xi.to_owned());
        if !self.mutant(Mutant::FetionChatRegisterNoX) {
            r.headers.push("X", CHAT_EXPIRES);
        }
        for k in SERVER_K {
            r.headers.push("K", *k);
        }
        self.send(conn, &r);
    }

    fn chat_service(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>) {
        let Some((chat, _)) = self.chat_of(conn) else {
            return self.reply(conn, msg, 401, "Unauthorized");
        };
        match msg.header("N").map(str::trim) {
            Some("InviteBuddy") => {}
            Some("KeepAlive") => return self.reply(conn, msg, 200, "OK"),
            _ => return self.reply(conn, msg, 420, "Bad Extension"),
        }
        let inviter = self
            .conns
            .get(&conn)
            .and_then(|c| c.sid.clone())
            .unwrap_or_default();
        let invitees: Vec<String> = body::Args::parse(&msg.body)
            .map(|args| {
                args.contacts()
                    .filter_map(|c| match c.address() {
                        Ok(Address::Sip(uri)) => Some(uri.user.into_owned()),
                        Ok(Address::Sid(sid)) => Some(sid.to_string()),
                        _ => None,
                    })
                    .filter(|s| *s != inviter)
                    .collect()
            })
            .unwrap_or_default();
        if invitees.is_empty() {
            return self.reply(conn, msg, 400, "Bad Request");
        }
        let online: Vec<(String, ConnId)> = invitees
            .iter()
            .filter_map(|s| self.online.get(s).map(|c| (s.clone(), *c)))
            .collect();
        if online.is_empty() {
            if self.mutant(Mutant::FetionInviteOfflineOk) {
                return self.reply(conn, msg, 200, "OK");
            }
            return self.reply(conn, msg, 404, "Not Found");
        }
        self.reply(conn, msg, 200, "OK");
        let Some(xi) = self.chats.get(&chat).map(|c| c.xi.clone()) else {
            return;
        };
        for (sid, main) in online {
            let cred = self.issue_ticket(now_ms, &sid, chat);
            let mut members: Vec<String> = self
                .chats
                .get(&chat)
                .map(|c| c.members.iter().map(|(s, _)| s.clone()).collect())
                .unwrap_or_default();
            if !members.contains(&sid) {
                members.push(sid.clone());
            }
            if self.mutant(Mutant::FetionInviteOmitsInviter) {
                members.retain(|m| *m == sid);
            }
            let mut body = String::from("s=session\r\nm=message\r\n");
            for m in &members {
                body.push_str("a=user:");
                body.push_str(&uri(m));
                body.push_str("\r\n");
            }
            let call = self.next_invite_call;
            self.next_invite_call -= 1;
            let cseq = self.next_invite_cseq;
            self.next_invite_cseq += 1;
            let version =
                self.push_version(self.conns.get(&main).map_or(Version::V2, |c| c.version));
            let mut m = Message::request(sipc::Method::INVITE, sid.clone(), version)
                .with_header("F", uri(&inviter))
                .with_header(
                    "A",
                    format!(
                        "CS address=\"{}\",credential=\"{cred}\"",
                        self.config.chat_address
                    ),
                )
                .with_header("I", call.to_string());
            for k in SERVER_K {
                m.headers.push("K", *k);
            }
            m.headers.push("XI", xi.clone());
            m.headers.push("L", "0");
            m.headers.push("Q", format!("{cseq} I"));
            m.headers.push("AL", "buddy");
            self.set_body(&mut m, body.into_bytes());
            self.send(main, &m);
        }
    }

    fn chat_message(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>) {
        let Some((chat, _)) = self.chat_of(conn) else {
            return self.reply(conn, msg, 401, "Unauthorized");
        };
        let sender = self
            .conns
            .get(&conn)
            .and_then(|c| c.sid.clone())
            .unwrap_or_default();
        let receivers: Vec<ConnId> = self
            .chats
            .get(&chat)
            .map(|c| {
                c.members
                    .iter()
                    .filter(|(_, m)| *m != conn)
                    .map(|(_, m)| *m)
                    .collect()
            })
            .unwrap_or_default();
        if receivers.is_empty() {
            return self.reply(conn, msg, 404, "Not Found");
        }
        let date = format_rfc1123(now_ms / 1000);
        let relay_date = if self.mutant(Mutant::FetionRelayDMismatch) {
            format_rfc1123(now_ms / 1000 + 1)
        } else {
            date.clone()
        };
        let xi = self.rng.hex(16);
        let relay_xi = if self.mutant(Mutant::FetionRelayXiMismatch) {
            self.rng.hex(16)
        } else {
            xi.clone()
        };
        let id = self.next_relay;
        self.next_relay += 1;
        for r in &receivers {
            let Some(c) = self.conns.get_mut(r) else {
                continue;
            };
            c.cseq += 1;
            let cseq = c.cseq;
            let version = c.version;
            let Some(rsid) = c.sid.clone() else { continue };
            let call = c
                .chat
                .as_ref()
                .map(|(_, call)| call.clone())
                .unwrap_or_default();
            let version = self.push_version(version);
            let mut m = Message::request(sipc::Method::MESSAGE, rsid, version)
                .with_header("I", call)
                .with_header("Q", format!("{cseq} M"));
            if !self.mutant(Mutant::FetionRelayNoF) {
                m.headers.push("F", uri(&sender));
            }
            if let Some(ct) = msg.header("C") {
                m.headers.push("C", ct.to_owned());
            }
            for k in msg.headers.get_all("K") {
                m.headers.push("K", k.to_owned());
            }
            m.headers.push("L", "0");
            m.headers.push("D", relay_date.clone());
            if !self.mutant(Mutant::FetionRelayNoXi) {
                m.headers.push("XI", relay_xi.clone());
            }
            self.set_body(&mut m, msg.body.to_vec());
            if self.mutant(Mutant::FetionRelaySometimesLate) && self.rng.next_u64() & 1 == 1 {
                self.late.push((now_ms + LATE_MS, *r, m.into_owned()));
            } else {
                self.send(*r, &m);
            }
            self.relay_by_txn.insert((*r, cseq), id);
        }
        let mut reply = self.response_to(msg, 200, "OK");
        reply.headers.push("D", date);
        reply.headers.push("XI", xi);
        let relay = Relay {
            sender: conn,
            reply: reply.into_owned(),
            waiting: receivers.len(),
            acked: 0,
            deadline_ms: now_ms + RELAY_TIMEOUT_MS,
        };
        self.relays.insert(id, relay);
    }

    /// Sends the sender's answer for relay `id` (all receivers answered, left, or the deadline
    /// passed): `200` if any receiver acknowledged, else `504`.
    fn finish_relay(&mut self, id: u64) {
        let Some(r) = self.relays.remove(&id) else {
            return;
        };
        self.relay_by_txn.retain(|_, v| *v != id);
        if r.acked > 0 {
            self.send(r.sender, &r.reply);
        } else {
            let mut reply = r.reply;
            reply.start = sipc::StartLine::Response {
                version: reply.version(),
                status: 504,
                reason: Cow::Borrowed("Server Time-out"),
            };
            reply.headers.remove("D");
            reply.headers.remove("XI");
            self.send(r.sender, &reply);
        }
    }

    fn leave_chat(&mut self, conn: ConnId) {
        let Some((chat, _)) = self.chat_of(conn) else {
            return;
        };
        let sid = self.conns.get_mut(&conn).and_then(|c| {
            c.chat = None;
            c.sid.take()
        });
        let Some(ch) = self.chats.get_mut(&chat) else {
            return;
        };
        ch.members.retain(|(_, m)| *m != conn);
        let others: Vec<ConnId> = ch.members.iter().map(|(_, m)| *m).collect();
        let empty = ch.members.is_empty();
        if let Some(sid) = sid {
            for o in others {
                self.send_bn(o, "UserLeft", std::slice::from_ref(&sid));
            }
        }
        if empty && !self.tickets.values().any(|t| t.chat == chat) {
            self.chats.remove(&chat);
        }
        // Relays waiting on this connection will never be answered.
        let waiting: Vec<u64> = self
            .relay_by_txn
            .iter()
            .filter(|((c, _), _)| *c == conn)
            .map(|(_, id)| *id)
            .collect();
        self.relay_by_txn.retain(|(c, _), _| *c != conn);
        for id in waiting {
            if let Some(r) = self.relays.get_mut(&id) {
                r.waiting = r.waiting.saturating_sub(1);
                if r.waiting == 0 {
                    self.finish_relay(id);
                }
            }
        }
    }

    fn send_bn(&mut self, to: ConnId, event: &str, members: &[String]) {
        let Some(c) = self.conns.get_mut(&to) else {
            return;
        };
        c.cseq += 1;
        let cseq = c.cseq;
        let Some(sid) = c.sid.clone() else { return };
        let call = c
            .chat
            .as_ref()
            .map(|(_, call)| call.clone())
            .unwrap_or_default();
        let mut body = format!("<events><event type=\"{event}\">");
        for m in members {
            body.push_str(&format!("<member uri=\"{}\"/>", uri(m)));
        }
        body.push_str("</event></events>");
        let version = c.version;
        let mut m = Message::request(sipc::Method::BENOTIFY, sid, self.push_version(version))
            .with_header("I", call)
            .with_header("Q", format!("{cseq} BN"))
            .with_header("N", "Conversation");
        self.set_body(&mut m, body.into_bytes());
        self.send(to, &m);
    }

    fn drop_conn(&mut self, conn: ConnId) {
        self.leave_chat(conn);
        if let Some(c) = self.conns.remove(&conn)
            && let Some(sid) = c.sid
            && self.online.get(&sid) == Some(&conn)
        {
            self.online.remove(&sid);
        }
        self.relays.retain(|_, r| r.sender != conn);
    }

    fn close(&mut self, conn: ConnId) {
        self.drop_conn(conn);
        self.out.push_back(Output::Close { conn });
    }

    fn new_chat(&mut self) -> u64 {
        let id = self.next_chat;
        self.next_chat += 1;
        let xi = self.rng.hex(16);
        self.chats.insert(
            id,
            Chat {
                xi,
                members: Vec::new(),
            },
        );
        id
    }

    fn issue_ticket(&mut self, now_ms: u64, sid: &str, chat: u64) -> String {
        self.tickets.retain(|_, t| t.expires_ms > now_ms);
        let a = self.rng.next_u64() % 9_000_000_000 + 1_000_000_000;
        let b = self.rng.next_u64() % 9_000_000_000 + 1_000_000_000;
        let cred = format!("{a}.{b}");
        self.tickets.insert(
            cred.clone(),
            Ticket {
                sid: sid.to_owned(),
                chat,
                expires_ms: now_ms + CREDENTIAL_TTL_MS,
            },
        );
        cred
    }

    fn chat_of(&self, conn: ConnId) -> Option<(u64, String)> {
        self.conns.get(&conn).and_then(|c| c.chat.clone())
    }

    fn mutant(&self, m: Mutant) -> bool {
        self.config.mutant == Some(m)
    }

    /// The limits `A:` values are read with: the configured ones, plus the glued
    /// `TICKSauth="…"` of seed 004's chat-server R and loose parameters (white space around
    /// `=` and `,`, unquoted values), as the server always accepted them.
    fn auth_limits(&self) -> Limits {
        Limits {
            allow_glued_auth_scheme: true,
            allow_loose_auth_params: true,
            ..self.config.limits
        }
    }

    /// The version token of a server-originated request to a connection registered with
    /// `registered`.
    fn push_version(&self, registered: Version) -> Version {
        match registered {
            Version::V2 if self.mutant(Mutant::FetionPushVersionMismatch) => Version::V4,
            Version::V4 if self.mutant(Mutant::FetionPushVersionMismatch) => Version::V2,
            v => v,
        }
    }

    /// A response to `req`: same version, `I:` and `Q:` echoed byte for byte.
    fn response_to(
        &self,
        req: &Message<'_>,
        status: u16,
        reason: &'static str,
    ) -> Message<'static> {
        let version = if self.mutant(Mutant::FetionVersionNotEchoed) {
            Version::V2
        } else {
            req.version()
        };
        let mut r = Message::response(version, status, reason);
        if let Some(i) = req.header("I") {
            let i = if self.mutant(Mutant::FetionNoEchoI) {
                format!("{}1", i)
            } else {
                i.to_owned()
            };
            r.headers.push("I", i);
        }
        if let Some(q) = req.header("Q") {
            let q = if self.mutant(Mutant::FetionNoEchoQ) {
                format!("1{q}")
            } else {
                q.to_owned()
            };
            r.headers.push("Q", q);
        }
        r
    }

    fn reply(&mut self, conn: ConnId, req: &Message<'_>, status: u16, reason: &'static str) {
        let r = self.response_to(req, status, reason);
        self.send(conn, &r);
    }

    fn set_body(&self, m: &mut Message<'_>, body: Vec<u8>) {
        let len = body.len();
        m.set_body(body);
        if self.mutant(Mutant::FetionLOffByOne) && len > 0 {
            m.headers.set("L", (len + 1).to_string());
        }
    }

    fn send(&mut self, conn: ConnId, m: &Message<'_>) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        // Coalesce with a send already queued for the same connection.
        if let Some(Output::Send { conn: c, bytes }) = self.out.back_mut()
            && *c == conn
        {
            m.encode(bytes);
            return;
        }
        self.out.push_back(Output::Send {
            conn,
            bytes: m.to_bytes(),
        });
    }
}

enum Resync {
    Skip(usize),
    Wait,
    Close,
}

/// The server's URI for a sid: `sip:<sid>@fetion.com.cn;p=<n>` with a stable `p` derived from
/// the sid (the seed's `p=72`/`p=196` are per-user numbers whose meaning is unknown).
pub fn uri(sid: &str) -> String {
    format!("sip:{sid}@{FETION_DOMAIN};p={}", portal(sid))
}

/// The `p=` number of [`uri`]: FNV-1a of the sid, reduced to 1..=999.
pub fn portal(sid: &str) -> u32 {
    let h = sid.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    h % 999 + 1
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether header `name: value` in a `400` encodes to a frame that decodes (strictly) to the
/// same value, so that resynchronisation never answers with an invalid frame.
fn echoable(version: Version, name: &str, value: &str) -> bool {
    let bytes = Message::response(version, 400, "Bad Request")
        .with_header(name, value)
        .to_bytes();
    matches!(
        sipc::parse(&bytes),
        Ok(Status::Complete((m, n))) if n == bytes.len() && m.headers.get(name) == Some(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use imspec_codec::sipc::digest::fetion_digest;

    const A: &str = "815389716";
    const B: &str = "818632893";
    /// The seed's `D: Thu, 17 Dec 2009 16:13:57 GMT`.
    const NOW: u64 = 1_261_066_437_000;
    const BODY: &str = "<Font Face='宋体' Color='-16777216' Size='10.5'>767</Font>";

    struct Pair {
        hub: Hub,
        inbox: HashMap<ConnId, Vec<u8>>,
        closed: Vec<ConnId>,
    }

    impl Pair {
        fn new(config: Config) -> Self {
            Self {
                hub: Hub::new(config),
                inbox: HashMap::new(),
                closed: Vec::new(),
            }
        }

        fn connect(&mut self, conn: ConnId, service: Service) {
            self.hub.handle(NOW, conn, Event::Connected(service));
        }

        fn feed(&mut self, conn: ConnId, bytes: &[u8]) {
            self.feed_at(NOW, conn, bytes);
        }

        fn feed_at(&mut self, now: u64, conn: ConnId, bytes: &[u8]) {
            self.hub.handle(now, conn, Event::Data(bytes));
            self.drain();
        }

        fn drain(&mut self) {
            while let Some(o) = self.hub.poll_output() {
                match o {
                    Output::Send { conn, bytes } => {
                        self.inbox.entry(conn).or_default().extend(bytes);
                    }
                    Output::Close { conn } => self.closed.push(conn),
                }
            }
        }

        /// Every complete frame received on `conn` since the last call, as text.
        fn take(&mut self, conn: ConnId) -> Vec<String> {
            let buf = self.inbox.remove(&conn).unwrap_or_default();
            let mut out = Vec::new();
            let mut at = 0;
            while at < buf.len() {
                let (_, n) = sipc::parse(&buf[at..]).unwrap().complete().unwrap();
                out.push(String::from_utf8(buf[at..at + n].to_vec()).unwrap());
                at += n;
            }
            out
        }

        fn take_one(&mut self, conn: ConnId) -> Message<'static> {
            let frames = self.take(conn);
            assert_eq!(frames.len(), 1, "{frames:?}");
            let (m, _) = sipc::parse(frames[0].as_bytes())
                .unwrap()
                .complete()
                .unwrap();
            m.into_owned()
        }

        fn login(&mut self, conn: ConnId, sid: &str) {
            self.connect(conn, Service::Fetion);
            self.feed(
                conn,
                format!("R fetion.com.cn SIP-C/2.0\r\nF: {sid}\r\nI: 1\r\nQ: 1 R\r\n\r\n")
                    .as_bytes(),
            );
            let r = self.take_one(conn);
            assert_eq!(r.status(), Some(401));
            let w = r.challenge().unwrap().unwrap();
            assert_eq!(w.params.get("algorithm"), Some("MD5"));
            let nonce = w.params.get("nonce").unwrap().to_owned();
            let resp = fetion_digest(sid, FETION_DOMAIN, "imspec", &nonce, "CN0NCE");
            self.feed(
                conn,
                format!("R fetion.com.cn SIP-C/2.0\r\nF: {sid}\r\nI: 1\r\nQ: 2 R\r\nA: Digest response=\"{resp}\",cnonce=\"CN0NCE\"\r\n\r\n")
                    .as_bytes(),
            );
            assert_eq!(
                self.take(conn),
                ["SIP-C/2.0 200 OK\r\nI: 1\r\nQ: 2 R\r\n\r\n"]
            );
        }

        /// StartChat on `main`, register on chat connection `chat`; returns the credential.
        fn start_chat(&mut self, main: ConnId, chat: ConnId, sid: &str) -> String {
            self.feed(main, format!("S fetion.com.cn SIP-C/2.0\r\nF: {sid}\r\nI: 19\r\nQ: 1 S\r\nN: StartChat\r\n\r\n").as_bytes());
            let r = self.take_one(main);
            assert_eq!(r.status(), Some(200));
            let Some(Ok(Auth::Cs {
                addresses,
                credential,
            })) = r.auth()
            else {
                panic!("{r:?}");
            };
            assert_eq!(addresses.len(), 1);
            assert_eq!(addresses[0].to_string(), "127.0.0.1:8080");
            let cred = credential.into_owned();
            self.connect(chat, Service::FetionChat);
            self.feed(chat, chat_r(sid, 1, 0, &cred).as_bytes());
            cred
        }
    }

    fn chat_r(sid: &str, i: i64, q: u32, cred: &str) -> String {
        format!(
            "R fetion.com.cn SIP-C/2.0\r\nF: {sid}\r\nI: {i}\r\nQ: {q} R\r\nA: TICKS auth=\"{cred}\"\r\nK: text/html-fragment\r\nK: multiparty\r\nK: nudge\r\nK: share-background\r\nK: fetion-show\r\n\r\n"
        )
    }

    fn register_ok(i: i64, q: u32, xi: &str) -> String {
        format!(
            "SIP-C/2.0 200 OK\r\nI: {i}\r\nQ: {q} R\r\nXI: {xi}\r\nX: 1200\r\nK: text/plain\r\nK: text/html-fragment\r\nK: multiparty\r\nK: nudge\r\nK: share-background\r\nK: fetion-show\r\n\r\n"
        )
    }

    fn config() -> Config {
        Config {
            seed: 7,
            ..Config::new("127.0.0.1:8080")
        }
    }

    /// Under mutant `m`: seed 004's set-up, A says "hi", B answers 200. Returns (the M relayed
    /// to B, the 200 relayed back to A).
    fn relay_with(m: Mutant) -> (Message<'static>, Message<'static>) {
        let mut p = Pair::new(Config {
            mutant: Some(m),
            ..config()
        });
        seed_004_setup(&mut p);
        p.feed(
            3,
            format!("M fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 3\r\nQ: 0 M\r\nL: 2\r\n\r\nhi")
                .as_bytes(),
        );
        let relayed = p.take_one(4);
        p.feed(4, b"SIP-C/2.0 200 OK\r\nI: 4\r\nQ: 3 M\r\n\r\n");
        (relayed, p.take_one(3))
    }

    /// Runs seed 004 up to both parties registered on the chat server; returns the XI.
    /// Connections: 1 A main, 2 B main, 3 A chat, 4 B chat.
    fn seed_004_setup(p: &mut Pair) -> String {
        p.login(1, A);
        p.login(2, B);
        p.start_chat(1, 3, A);
        let ok = p.take_one(3);
        let xi = ok.header("XI").unwrap().to_owned();
        assert_eq!(xi.len(), 32);
        assert!(xi.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            String::from_utf8(ok.to_bytes()).unwrap(),
            register_ok(1, 0, &xi)
        );

        let invite = format!(
            "<args><contacts><contact uri=\"sip:{B}@fetion.com.cn;p=196\" /></contacts></args>"
        );
        p.feed(3, format!("S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 2\r\nQ: 0 S\r\nN: InviteBuddy\r\nL: {}\r\n\r\n{invite}", invite.len()).as_bytes());
        assert_eq!(p.take(3), ["SIP-C/2.0 200 OK\r\nI: 2\r\nQ: 0 S\r\n\r\n"]);
        let inv = p.take_one(2);
        let cred = { credential(&inv) };
        let session = format!(
            "s=session\r\nm=message\r\na=user:{}\r\na=user:{}\r\n",
            uri(A),
            uri(B)
        );
        let want = format!(
            "I {B} SIP-C/2.0\r\nF: {}\r\nA: CS address=\"127.0.0.1:8080\",credential=\"{cred}\"\r\nI: -11\r\nK: text/plain\r\nK: text/html-fragment\r\nK: multiparty\r\nK: nudge\r\nK: share-background\r\nK: fetion-show\r\nXI: {xi}\r\nL: {}\r\nQ: 200001 I\r\nAL: buddy\r\n\r\n{session}",
            uri(A),
            session.len()
        );
        assert_eq!(String::from_utf8(inv.to_bytes()).unwrap(), want);
        p.feed(
            2,
            format!(
                "SIP-C/2.0 200 OK\r\nF: {}\r\nI: -11\r\nQ: 200001 I\r\n\r\n",
                uri(A)
            )
            .as_bytes(),
        );
        assert!(p.take(2).is_empty());

        p.connect(4, Service::FetionChat);
        p.feed(4, chat_r(B, 4, 4, &cred).as_bytes());
        let frames_b = p.take(4);
        let frames_a = p.take(3);
        let bn = |to: &str, i: i64, member: &str| {
            let body = format!(
                "<events><event type=\"UserEntered\"><member uri=\"{}\"/></event></events>",
                uri(member)
            );
            format!(
                "BN {to} SIP-C/2.0\r\nI: {i}\r\nQ: 2 BN\r\nN: Conversation\r\nL: {}\r\n\r\n{body}",
                body.len()
            )
        };
        assert_eq!(frames_b, [register_ok(4, 4, &xi), bn(B, 4, A)]);
        assert_eq!(frames_a, [bn(A, 1, B)]);
        xi
    }

    /// `--fetion-login open`: the first R logs in with 200 (no W, no challenge); an unknown
    /// account is refused; a later S is served.
    #[test]
    fn fetion_open_login_answers_first_r() {
        let mut p = Pair::new(Config {
            login: Login::Open,
            accounts: Accounts::parse(&format!("{A} imspec\n")).unwrap(),
            ..config()
        });
        p.connect(1, Service::Fetion);
        p.feed(
            1,
            b"R fetion.com.cn SIP-C/2.0\r\nF: 999\r\nI: 1\r\nQ: 1 R\r\n\r\n",
        );
        assert_eq!(p.take_one(1).status(), Some(403));
        p.feed(
            1,
            format!("R fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 1\r\nQ: 2 R\r\n\r\n").as_bytes(),
        );
        assert_eq!(p.take(1), ["SIP-C/2.0 200 OK\r\nI: 1\r\nQ: 2 R\r\n\r\n"]);
        p.feed(
            1,
            format!(
                "S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 2\r\nQ: 3 S\r\nN: StartChat\r\n\r\n"
            )
            .as_bytes(),
        );
        assert_eq!(p.take_one(1).status(), Some(200));
    }

    /// Seed 004 (docs/protocols/fetion.md §8) end to end, byte for byte modulo server-assigned values.
    #[test]
    fn fetion_seed_004_exchange() {
        let mut p = Pair::new(config());
        seed_004_setup(&mut p);
        assert_eq!(BODY.len(), 60);
        p.feed(3, format!("M fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 3\r\nQ: 0 M\r\nC: text/html-fragment\r\nK: SaveHistory\r\nL: 60\r\n\r\n{BODY}").as_bytes());
        let relayed = p.take_one(4);
        let xi = relayed.header("XI").unwrap().to_owned();
        assert_eq!(
            String::from_utf8(relayed.to_bytes()).unwrap(),
            format!(
                "M {B} SIP-C/2.0\r\nI: 4\r\nQ: 3 M\r\nF: {}\r\nC: text/html-fragment\r\nK: SaveHistory\r\nL: 60\r\nD: Thu, 17 Dec 2009 16:13:57 GMT\r\nXI: {xi}\r\n\r\n{BODY}",
                uri(A)
            )
        );
        // The sender's 200 waits for the receiver's.
        assert!(p.take(3).is_empty());
        p.feed(
            4,
            format!(
                "SIP-C/2.0 200 OK\r\nF: {}\r\nI: 4\r\nQ: 3 M\r\n\r\n",
                uri(A)
            )
            .as_bytes(),
        );
        assert_eq!(
            p.take(3),
            [format!(
                "SIP-C/2.0 200 OK\r\nI: 3\r\nQ: 0 M\r\nD: Thu, 17 Dec 2009 16:13:57 GMT\r\nXI: {xi}\r\n\r\n"
            )]
        );
        // B leaves: A hears UserLeft.
        p.feed(
            4,
            format!("B fetion.com.cn SIP-C/2.0\r\nF: {B}\r\nI: 4\r\nQ: 5 B\r\n\r\n").as_bytes(),
        );
        assert_eq!(p.take(4), ["SIP-C/2.0 200 OK\r\nI: 4\r\nQ: 5 B\r\n\r\n"]);
        let left = p.take_one(3);
        assert_eq!(left.header("N"), Some("Conversation"));
        assert_eq!(
            left.body_text().unwrap(),
            format!(
                "<events><event type=\"UserLeft\"><member uri=\"{}\"/></event></events>",
                uri(B)
            )
        );
    }

    #[test]
    fn fetion_relay_times_out_without_receiver_ack() {
        let mut p = Pair::new(config());
        seed_004_setup(&mut p);
        p.feed(
            3,
            format!("M fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 3\r\nQ: 0 M\r\nL: 2\r\n\r\nhi")
                .as_bytes(),
        );
        assert_eq!(p.take_one(4).body_text(), Some("hi"));
        assert_eq!(p.hub.poll_timeout(), Some(NOW + RELAY_TIMEOUT_MS));
        p.hub.handle_timeout(NOW + RELAY_TIMEOUT_MS);
        p.drain();
        assert_eq!(p.take_one(3).status(), Some(504));
        assert_eq!(p.hub.poll_timeout(), None);
    }

    #[test]
    fn fetion_wrong_password_and_credentials_are_refused() {
        let mut p = Pair::new(config());
        p.connect(1, Service::Fetion);
        p.feed(
            1,
            format!("R fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 1\r\nQ: 1 R\r\n\r\n").as_bytes(),
        );
        let r = p.take_one(1);
        let w = r.challenge().unwrap().unwrap();
        let resp = fetion_digest(
            A,
            FETION_DOMAIN,
            "wrong",
            w.params.get("nonce").unwrap(),
            "c",
        );
        p.feed(1, format!("R fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 1\r\nQ: 2 R\r\nA: Digest response=\"{resp}\",cnonce=\"c\"\r\n\r\n").as_bytes());
        assert_eq!(
            p.take(1),
            ["SIP-C/2.0 403 Forbidden\r\nI: 1\r\nQ: 2 R\r\n\r\n"]
        );
        // Not logged in: StartChat refused.
        p.feed(
            1,
            format!(
                "S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 2\r\nQ: 1 S\r\nN: StartChat\r\n\r\n"
            )
            .as_bytes(),
        );
        assert_eq!(p.take_one(1).status(), Some(401));

        p.login(2, A);
        let cred = p.start_chat(2, 3, A);
        assert_eq!(p.take_one(3).status(), Some(200));
        // Reuse of a spent credential.
        p.connect(4, Service::FetionChat);
        p.feed(4, chat_r(A, 1, 0, &cred).as_bytes());
        assert_eq!(
            p.take(4),
            ["SIP-C/2.0 403 Forbidden\r\nI: 1\r\nQ: 0 R\r\n\r\n"]
        );
        // Unknown credential; credential issued to someone else.
        p.feed(4, chat_r(A, 2, 0, "1.2").as_bytes());
        assert_eq!(p.take_one(4).status(), Some(403));
        p.feed(
            2,
            format!(
                "S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 19\r\nQ: 2 S\r\nN: StartChat\r\n\r\n"
            )
            .as_bytes(),
        );
        let cred = credential(&p.take_one(2));
        p.feed(4, chat_r(B, 3, 0, &cred).as_bytes());
        assert_eq!(p.take_one(4).status(), Some(403));
        // Expired.
        p.feed(
            2,
            format!(
                "S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 19\r\nQ: 3 S\r\nN: StartChat\r\n\r\n"
            )
            .as_bytes(),
        );
        let cred = credential(&p.take_one(2));
        p.feed_at(
            NOW + CREDENTIAL_TTL_MS,
            4,
            chat_r(A, 4, 0, &cred).as_bytes(),
        );
        assert_eq!(p.take_one(4).status(), Some(403));
    }

    #[test]
    fn fetion_invite_offline_buddy_is_404() {
        let mut p = Pair::new(config());
        p.login(1, A);
        p.start_chat(1, 3, A);
        p.take(3);
        let invite = format!(
            "<args><contacts><contact uri=\"sip:{B}@fetion.com.cn;p=196\"/></contacts></args>"
        );
        p.feed(3, format!("S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 2\r\nQ: 0 S\r\nN: InviteBuddy\r\nL: {}\r\n\r\n{invite}", invite.len()).as_bytes());
        assert_eq!(
            p.take(3),
            ["SIP-C/2.0 404 Not Found\r\nI: 2\r\nQ: 0 S\r\n\r\n"]
        );
        // Alone in the conversation: M has nobody to go to.
        p.feed(
            3,
            b"M fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 3\r\nQ: 0 M\r\nL: 1\r\n\r\nx",
        );
        assert_eq!(p.take_one(3).status(), Some(404));
    }

    #[test]
    fn fetion_version_token_follows_request() {
        let mut p = Pair::new(config());
        p.connect(1, Service::Fetion);
        p.feed(
            1,
            b"R fetion.com.cn SIP-C/4.0\r\nF: 1\r\nI: 1\r\nQ: 1 R\r\n\r\n",
        );
        assert_eq!(p.take_one(1).version(), Version::V4);
        p.feed(1, b"XX fetion.com.cn SIP-C/4.0\r\nI: 9\r\nQ: 1 XX\r\n\r\n");
        assert_eq!(
            p.take(1),
            ["SIP-C/4.0 420 Bad Extension\r\nI: 9\r\nQ: 1 XX\r\n\r\n"]
        );
    }

    #[test]
    fn fetion_malformed_frames_get_400_or_close_and_chopping_does_not_matter() {
        let bad = b"S fetion.com.cn SIP-C/2.0\r\nI: 5\r\nQ: 1 S\r\nbroken header\r\nL: 3\r\n\r\nabcS fetion.com.cn SIP-C/2.0\r\nI: 6\r\nQ: 2 S\r\nN: KeepAlive\r\n\r\n";
        let want = [
            "SIP-C/2.0 400 Bad Request\r\nI: 5\r\nQ: 1 S\r\n\r\n",
            "SIP-C/2.0 401 Unauthorized\r\nI: 6\r\nQ: 2 S\r\n\r\n",
        ];
        for chunk in [1, 2, 3, 7, bad.len()] {
            let mut p = Pair::new(config());
            p.connect(1, Service::Fetion);
            for piece in bad.chunks(chunk) {
                p.feed(1, piece);
            }
            assert_eq!(p.take(1), want, "chunk {chunk}");
            assert!(p.closed.is_empty());
        }
        // Missing I: 400 without I.
        let mut p = Pair::new(config());
        p.connect(1, Service::Fetion);
        p.feed(1, b"S fetion.com.cn SIP-C/2.0\r\nQ: 1 S\r\n\r\n");
        assert_eq!(p.take(1), ["SIP-C/2.0 400 Bad Request\r\nQ: 1 S\r\n\r\n"]);
        // No blank line within the bound: only this connection closes.
        p.connect(2, Service::Fetion);
        p.feed(2, &vec![b'x'; 20_000]);
        assert_eq!(p.closed, [2]);
        assert_eq!(p.hub.connections(), 1);
        p.feed(
            1,
            b"R fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 1\r\nQ: 1 R\r\n\r\n",
        );
        assert_eq!(p.take_one(1).status(), Some(401));
        // Garbage never panics.
        for seed in 0..200u64 {
            let mut r = Rng::new(seed);
            let junk: Vec<u8> = (0..64)
                .map(|_| {
                    let a = b"RSMBNI: \r\n0123LQX\"=";
                    a[(r.next_u64() % a.len() as u64) as usize]
                })
                .collect();
            p.connect(10 + seed, Service::FetionChat);
            p.feed(10 + seed, &junk);
        }
    }

    #[test]
    fn fetion_mutants_break_their_rule() {
        let (r, ok) = relay_with(Mutant::FetionRelayNoXi);
        assert!(r.header("XI").is_none() && ok.header("XI").is_some());
        let (r, ok) = relay_with(Mutant::FetionRelayXiMismatch);
        assert_ne!(r.header("XI"), ok.header("XI"));

        let mut p = Pair::new(Config {
            mutant: Some(Mutant::FetionNoEchoI),
            ..config()
        });
        p.connect(1, Service::Fetion);
        p.feed(
            1,
            b"R fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 1\r\nQ: 1 R\r\n\r\n",
        );
        assert_ne!(p.take_one(1).header("I"), Some("1"));
        let mut p = Pair::new(Config {
            mutant: Some(Mutant::FetionNoEchoQ),
            ..config()
        });
        p.connect(1, Service::Fetion);
        p.feed(
            1,
            b"R fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 1\r\nQ: 1 R\r\n\r\n",
        );
        assert_ne!(p.take_one(1).header("Q"), Some("1 R"));

        let mut p = Pair::new(Config {
            mutant: Some(Mutant::FetionAcceptBadPassword),
            ..config()
        });
        p.connect(1, Service::Fetion);
        p.feed(
            1,
            b"R fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 1\r\nQ: 1 R\r\n\r\n",
        );
        p.take(1);
        p.feed(1, b"R fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 1\r\nQ: 2 R\r\nA: Digest response=\"00\",cnonce=\"c\"\r\n\r\n");
        assert_eq!(p.take_one(1).status(), Some(200));

        let mut p = Pair::new(Config {
            mutant: Some(Mutant::FetionAcceptBadCredential),
            ..config()
        });
        p.connect(4, Service::FetionChat);
        p.feed(4, chat_r(A, 1, 0, "1.2").as_bytes());
        assert_eq!(p.take_one(4).status(), Some(200));

        let mut p = Pair::new(Config {
            mutant: Some(Mutant::FetionLOffByOne),
            ..config()
        });
        p.login(1, A);
        p.start_chat(1, 3, A);
        p.take(3);
        let invite =
            format!("<args><contacts><contact uri=\"sip:{A}9@fetion.com.cn\"/></contacts></args>");
        p.login(2, &format!("{A}9"));
        p.feed(3, format!("S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 2\r\nQ: 0 S\r\nN: InviteBuddy\r\nL: {}\r\n\r\n{invite}", invite.len()).as_bytes());
        let raw = p.inbox.remove(&2).unwrap();
        let head_end = find(&raw, b"\r\n\r\n").unwrap() + 4;
        let l: usize = String::from_utf8_lossy(&raw)
            .lines()
            .find_map(|l| l.strip_prefix("L: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(l, raw.len() - head_end + 1);

        let mut p = Pair::new(Config {
            mutant: Some(Mutant::FetionNoUserEntered),
            ..config()
        });
        p.login(1, A);
        p.login(2, B);
        p.start_chat(1, 3, A);
        p.take(3);
        let invite =
            format!("<args><contacts><contact uri=\"sip:{B}@fetion.com.cn\"/></contacts></args>");
        p.feed(3, format!("S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 2\r\nQ: 0 S\r\nN: InviteBuddy\r\nL: {}\r\n\r\n{invite}", invite.len()).as_bytes());
        p.take(3);
        let inv = p.take_one(2);
        let cred = credential(&inv);
        p.connect(4, Service::FetionChat);
        p.feed(4, chat_r(B, 4, 4, &cred).as_bytes());
        assert_eq!(p.take(4).len(), 1);
        assert!(p.take(3).is_empty());
    }

    /// The second group of mutants (issues 3 and 4: rules no mutant broke before).
    #[test]
    fn fetion_rule_mutants_break_their_rule() {
        let with = |m: Mutant| {
            Pair::new(Config {
                mutant: Some(m),
                ..config()
            })
        };
        // A logged in with a chat connection (1 main, 3 chat), B logged in (2); A invites B.
        let invite = |m: Mutant| {
            let mut p = with(m);
            p.login(1, A);
            p.login(2, B);
            p.start_chat(1, 3, A);
            let ok = p.take_one(3);
            let body = format!(
                "<args><contacts><contact uri=\"sip:{B}@fetion.com.cn\"/></contacts></args>"
            );
            p.feed(3, format!("S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 2\r\nQ: 0 S\r\nN: InviteBuddy\r\nL: {}\r\n\r\n{body}", body.len()).as_bytes());
            assert_eq!(p.take_one(3).status(), Some(200));
            let inv = p.take_one(2);
            (p, ok, inv)
        };

        let (_, ok, _) = invite(Mutant::FetionChatRegisterNoX);
        assert_eq!((ok.status(), ok.header("X")), (Some(200), None));
        let (_, _, inv) = invite(Mutant::FetionInviteOmitsInviter);
        let body = inv.body_text().unwrap();
        assert!(body.contains(&uri(B)) && !body.contains(&uri(A)), "{body}");
        let (_, _, inv) = invite(Mutant::FetionPushVersionMismatch);
        assert_eq!(inv.version(), Version::V4);

        let (mut p, _, inv) = invite(Mutant::FetionUserEnteredOneParty);
        let cred = credential(&inv);
        p.connect(4, Service::FetionChat);
        p.feed(4, chat_r(B, 4, 4, &cred).as_bytes());
        assert_eq!(p.take(4).len(), 2, "B: 200 and UserEntered");
        assert!(p.take(3).is_empty(), "A hears nothing");

        let (r, _) = relay_with(Mutant::FetionRelayNoF);
        assert!(r.header("F").is_none());
        let (r, ok) = relay_with(Mutant::FetionRelayDMismatch);
        assert!(r.header("D").is_some() && ok.header("D").is_some());
        assert_ne!(r.header("D"), ok.header("D"));

        let mut p = with(Mutant::FetionVersionNotEchoed);
        p.connect(1, Service::Fetion);
        p.feed(
            1,
            b"R fetion.com.cn SIP-C/4.0\r\nF: 1\r\nI: 1\r\nQ: 1 R\r\n\r\n",
        );
        assert_eq!(p.take_one(1).version(), Version::V2);

        let mut p = with(Mutant::FetionInviteOfflineOk);
        p.login(1, A);
        p.start_chat(1, 3, A);
        p.take(3);
        let body =
            format!("<args><contacts><contact uri=\"sip:{B}@fetion.com.cn\"/></contacts></args>");
        p.feed(3, format!("S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 2\r\nQ: 0 S\r\nN: InviteBuddy\r\nL: {}\r\n\r\n{body}", body.len()).as_bytes());
        assert_eq!(p.take_one(3).status(), Some(200));

        let mut p = with(Mutant::FetionMalformedIgnored);
        p.connect(1, Service::Fetion);
        p.feed(1, b"S fetion.com.cn SIP-C/2.0\r\nI: 5\r\nQ: 1 S\r\nL: five\r\n\r\nS fetion.com.cn SIP-C/2.0\r\nI: 6\r\nQ: 2 S\r\nN: KeepAlive\r\n\r\n");
        assert_eq!(
            p.take(1),
            ["SIP-C/2.0 401 Unauthorized\r\nI: 6\r\nQ: 2 S\r\n\r\n"]
        );

        let mut p = with(Mutant::FetionHugeLCrashes);
        p.login(1, A);
        p.connect(2, Service::Fetion);
        p.feed(
            2,
            b"S fetion.com.cn SIP-C/2.0\r\nI: 5\r\nQ: 1 S\r\nL: five\r\n\r\n",
        );
        assert_eq!(p.take_one(2).status(), Some(400), "only a huge L crashes");
        p.feed(
            2,
            b"M fetion.com.cn SIP-C/2.0\r\nI: 2\r\nQ: 1 M\r\nL: 99999999999999999999\r\n\r\nx",
        );
        p.closed.sort_unstable();
        assert_eq!(p.closed, [1, 2]);
        assert_eq!(p.hub.connections(), 0);

        let mut p = with(Mutant::FetionStartchatNoPort);
        p.login(1, A);
        p.feed(
            1,
            format!(
                "S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 19\r\nQ: 1 S\r\nN: StartChat\r\n\r\n"
            )
            .as_bytes(),
        );
        // No port: not a valid CS form any more, so read as text.
        let a = p.take_one(1).header("A").unwrap().to_owned();
        assert!(
            a.starts_with("CS address=\"127.0.0.1\",credential=\""),
            "{a}"
        );
    }

    /// The credential of an `A: CS …` or `A: TICKS …` the server sent, through the codec.
    fn credential(m: &Message<'_>) -> String {
        let a = m.auth().unwrap().unwrap();
        a.credential().unwrap().to_owned()
    }

    /// Seed 004's chat-server R glues its scheme to the first parameter (`TICKSauth="…"`):
    /// still a registration, read through the codec's `allow_glued_auth_scheme`.
    #[test]
    fn fetion_chat_register_accepts_the_glued_ticks_form() {
        let mut p = Pair::new(config());
        p.login(1, A);
        p.feed(
            1,
            format!(
                "S fetion.com.cn SIP-C/2.0\r\nF: {A}\r\nI: 19\r\nQ: 2 S\r\nN: StartChat\r\n\r\n"
            )
            .as_bytes(),
        );
        let cred = credential(&p.take_one(1));
        p.connect(2, Service::FetionChat);
        let glued = chat_r(A, 1, 1, &cred).replace("TICKS auth=", "TICKSauth=");
        p.feed(2, glued.as_bytes());
        assert_eq!(p.take_one(2).status(), Some(200));
    }
}
