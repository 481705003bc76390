//! The SIP reference server, sans-IO (issue 7, docs/protocols/sip.md, seed 003): registrar, MESSAGE
//! relay, msilo-style offline store, RFC 3842 `message-summary` state agent, and the seed's
//! "approach 2" mailbox that hands stored messages over MSRP (RFC 4975).
//!
//! One [`Hub`] owns every SIP connection (`Service::Sip`) and every MSRP connection
//! (`Service::Msrp`). The driver feeds it [`Event`]s with the time and polls [`Output`]s, the
//! outbound connections it wants ([`Hub::poll_connect`]) and its next deadline
//! ([`Hub::poll_timeout`]); nothing inside reads a socket, a clock or the environment.
//!
//! The rules live next to the code that keeps them, one file per concept, each citing its
//! sources (the sections of docs/protocols/sip.md, §8 being the reference server's decisions):
//!
//! | file | concept | docs/protocols/sip.md |
//! | --- | --- | --- |
//! | `registrar.rs` | REGISTER bindings, the dump they trigger | §2, §8.2 |
//! | `relay.rs` | MESSAGE relay, reaching a user agent, the server's client transactions | §3.1, §8.3, §8.4 |
//! | `offline.rs` | storing a MESSAGE nobody took, the dump, expiry | §3.2–§3.4, §6.4, §8.4, §8.5 |
//! | `mwi.rs` | SUBSCRIBE/NOTIFY `message-summary` | §4.1, §4.2, §6.1, §6.2, §8.6 |
//! | `publish.rs` | PUBLISH `message-summary` state | §4.3, §8.7 |
//! | `mailbox.rs` | the MSRP mailbox: INVITE, BYE, MSRP SENDs | §4.5, §5, §6.3, §8.8 |
//! | `store.rs` | the durable store of offline messages | §8.10 |
//!
//! This file holds the state, the framing, the request checks and dispatch, and responses.
//!
//! # What a scenario can rely on
//!
//! * **Transport** (§8.1): SIP over TCP only (`imspec serve --sip ADDR`, printed as
//!   `listening sip <addr>`); MSRP over TCP on a second listener (same host, port 0, printed as
//!   `listening msrp <addr>`). Framing by `Content-Length` with the [`imspec_codec::sip`]
//!   codec, lenient forms accepted (`Name:value`, folded lines, bare LF); a CRLFCRLF
//!   keep-alive is answered with CRLF (RFC 5626).
//! * **Domain** (§8.1): a Request-URI (and a REGISTER's `To`) is ours when its host is the SIP
//!   listener's host (`127.0.0.1`), `localhost` or [`DOMAIN`] (`imspec.test`); the port is not
//!   compared. Anything else → `403 Relay Forbidden` (the Kamailio config of docs/protocols/peers.md §2.1).
//!   A `sips:`/`tel:` Request-URI → `416 Unsupported URI Scheme`.
//! * **Accounts**: the same policy as Fetion and MSNP (`--accounts FILE`; by default every
//!   user name exists). A user that does not exist → `404 Not Found` (REGISTER, MESSAGE,
//!   SUBSCRIBE, PUBLISH). No digest authentication (the Kamailio peer has none either).
//!   The user [`MAILBOX_USER`] (`offline`) is reserved for the mailbox.
//! * **REGISTER**, **reaching a user agent**, **MESSAGE**, **dump**, **MWI**, **PUBLISH** and
//!   the **MSRP mailbox**: see the concept files above; their module docs state the rules.
//! * **Other requests**: `OPTIONS` → `200 OK` with `Allow`; `ACK` absorbed; `CANCEL` → `481`;
//!   `NOTIFY`, `INFO`, `REFER`, `UPDATE`, `PRACK` → `405`; anything else → `501`.
//! * **Bad input** (§8.9): a request that frames but lacks or garbles `Via`, `From`, `To`, `Call-ID`
//!   or `CSeq` (or whose CSeq method differs) → `400 Bad Request` echoing what it has, with a
//!   `Warning: 399` naming the problem; `Max-Forwards: 0` → `483 Too Many Hops`. A message the
//!   codec cannot frame (no `Content-Length`, bad start line, size limits) closes that one
//!   connection. Nothing stored is lost either way; the hub never panics on peer data.
//! * **Durability** (§8.10): only stored messages survive a restart (`--data DIR` → `DIR/sip.redb`;
//!   in memory without it); registrations, subscriptions, publications and MSRP sessions live
//!   in memory, as with the Kamailio peer (`usrloc db_mode=0`). The MESSAGEs of one read are
//!   committed together (one fsync) and each is answered `202` only after that commit.
//!
//! Mutants ([`Mutant`] `sip-*`) each break exactly one of these rules.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;

use imspec_codec::Status;
use imspec_codec::sip::header::NameAddr;
use imspec_codec::sip::{self, Limits, Message, Uri, uri};

use mailbox::Session;
use mwi::Subscription;
use offline::ToStore;
use publish::Publication;
use registrar::Binding;
use relay::{ClientTxn, Relay};

use super::rng::Rng;
use super::{ConnId, Event, Mutant, Output, Service};
use crate::accounts::Accounts;

mod mailbox;
mod mwi;
mod offline;
mod publish;
mod registrar;
mod relay;
pub mod store;

pub use store::{Mailbox, Offline, StoreError};

#[cfg(test)]
mod tests;

/// The user part of the mailbox URI (`Message-Account: sip:offline@<host:port>`).
pub const MAILBOX_USER: &str = "offline";
/// A domain name that is always ours, besides the listener's host and `localhost`.
pub const DOMAIN: &str = "imspec.test";
/// How long a stored message waits for delivery (msilo's `expire_time` is 3 days).
pub const EXPIRY_MS: u64 = 7 * 24 * 3600 * 1000;
/// How long a relayed MESSAGE, a dump or a NOTIFY waits for a final response (the `fr_timer`
/// of the Kamailio peer).
pub const RELAY_TIMEOUT_MS: u64 = 5_000;
/// Registration expiry when the REGISTER names none (RFC 3261 §10.2.1.1).
pub const REGISTER_EXPIRES: u32 = 3600;
/// Subscription duration when the SUBSCRIBE names none (RFC 3842 §4.2).
pub const SUBSCRIBE_EXPIRES: u32 = 3600;
/// Publication lifetime when the PUBLISH names none (RFC 3903 §4.1 leaves it to the package).
pub const PUBLISH_EXPIRES: u32 = 3600;
/// Ids of the connections the hub asks the driver to open (below the gateway's range).
pub const OUTBOUND_CONN_BASE: ConnId = 1 << 61;
/// The methods `Allow` lists.
pub const ALLOW: &str = "REGISTER, MESSAGE, SUBSCRIBE, PUBLISH, INVITE, ACK, BYE, CANCEL, OPTIONS";

/// Configuration of a [`Hub`].
#[derive(Clone, Debug)]
pub struct Config {
    /// `host:port` of the SIP listener: our `Via`, `Contact` and the Message-Account URI.
    pub sip_address: String,
    /// `host:port` of the MSRP listener, as the SDP answer's `a=path` names it.
    pub msrp_address: String,
    /// Further host names that are ours (the listener's host always is).
    pub domains: Vec<String>,
    /// Who exists.
    pub accounts: Accounts,
    /// The rule to break, if any.
    pub mutant: Option<Mutant>,
    /// Seed of the tag, branch and id generator.
    pub seed: u64,
    /// Framing bounds and leniencies.
    pub limits: Limits,
    /// Lifetime of a stored message.
    pub expiry_ms: u64,
    /// How long a request the server sends waits for its final response.
    pub relay_timeout_ms: u64,
}

impl Config {
    /// Defaults for the listeners at `sip_address` and `msrp_address`.
    pub fn new(sip_address: impl Into<String>, msrp_address: impl Into<String>) -> Self {
        Self {
            sip_address: sip_address.into(),
            msrp_address: msrp_address.into(),
            domains: vec!["localhost".to_owned(), DOMAIN.to_owned()],
            accounts: Accounts::open(),
            mutant: None,
            seed: 0,
            limits: Limits {
                allow_missing_length: false,
                allow_leading_crlf: false,
                ..Limits::lenient()
            },
            expiry_ms: EXPIRY_MS,
            relay_timeout_ms: RELAY_TIMEOUT_MS,
        }
    }
}

/// The state of the SIP and MSRP services.
pub struct Hub {
    config: Config,
    rng: Rng,
    /// The durable offline messages (`store.rs`).
    store: Mailbox,
    conns: HashMap<ConnId, Conn>,
    /// The id of the next outbound connection.
    next_out: ConnId,
    /// User → live bindings (`registrar.rs`).
    bindings: HashMap<String, Vec<Binding>>,
    /// `Via` branch → the server's own request waiting for its final response (`relay.rs`).
    txns: HashMap<String, ClientTxn>,
    /// Relay id → a MESSAGE being relayed (`relay.rs`).
    relays: HashMap<u64, Relay>,
    /// The next relay or subscription id.
    next_id: u64,
    /// Subscription id → a `message-summary` subscription (`mwi.rs`).
    subs: HashMap<u64, Subscription>,
    /// ETag → published state (`publish.rs`).
    publications: HashMap<String, Publication>,
    /// MSRP session id → a mailbox session (`mailbox.rs`).
    sessions: HashMap<String, Session>,
    /// (user, stored id) of the messages being delivered (dump or MSRP), not to send twice.
    in_flight: HashSet<(String, u64)>,
    /// MESSAGEs to store, committed together before anything that could observe them
    /// (`offline.rs`).
    to_store: Vec<ToStore>,
    out: VecDeque<Output>,
    connects: VecDeque<(ConnId, SocketAddr)>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("conns", &self.conns.len())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

struct Conn {
    service: Service,
    buf: Vec<u8>,
    peer: Option<SocketAddr>,
    /// The MSRP session bound to this MSRP connection.
    session: Option<String>,
}

/// What a request must carry before the hub acts on it.
struct Req<'m> {
    method: &'m str,
    uri: Option<Uri<'m>>,
    from: NameAddr<'m>,
    to: NameAddr<'m>,
    call_id: &'m str,
}

impl Hub {
    /// A server with no connections, over `store`.
    pub fn new(config: Config, store: Mailbox) -> Self {
        Self {
            rng: Rng::new(config.seed),
            config,
            store,
            conns: HashMap::new(),
            next_out: OUTBOUND_CONN_BASE,
            bindings: HashMap::new(),
            txns: HashMap::new(),
            relays: HashMap::new(),
            next_id: 1,
            subs: HashMap::new(),
            publications: HashMap::new(),
            sessions: HashMap::new(),
            in_flight: HashSet::new(),
            to_store: Vec::new(),
            out: VecDeque::new(),
            connects: VecDeque::new(),
        }
    }

    /// Feeds one event for `conn` at time `now_ms` (Unix milliseconds).
    pub fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>) {
        match event {
            Event::Connected(service) => {
                self.conns.entry(conn).or_insert(Conn {
                    service,
                    buf: Vec::new(),
                    peer: None,
                    session: None,
                });
            }
            Event::Data(bytes) => self.on_data(now_ms, conn, bytes),
            Event::Closed => self.drop_conn(now_ms, conn),
        }
        self.flush_stores(now_ms);
    }

    /// Records the source address of an accepted connection (after `Connected`).
    pub fn set_peer(&mut self, conn: ConnId, peer: SocketAddr) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.peer = Some(peer);
        }
    }

    /// The next thing the driver must do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next connection the driver must open: a TCP connection to the address, known to the
    /// hub as the id. Outputs for it may already be queued; the driver sends them once
    /// connected. A failed connect is reported as [`Event::Closed`] for that id (no
    /// `Connected` is needed for an outbound connection).
    pub fn poll_connect(&mut self) -> Option<(ConnId, SocketAddr)> {
        self.connects.pop_front()
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) has work to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        let txns = self.txns.values().map(|t| t.deadline_ms);
        let subs = self.subs.values().map(|s| s.expires_ms);
        let pubs = self.publications.values().map(|p| p.expires_ms);
        txns.chain(subs)
            .chain(pubs)
            .chain(self.store.next_expiry())
            .min()
    }

    /// Fails requests that got no final response in time, ends expired subscriptions and
    /// publications, drops expired stored messages.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let due = keys_where(&self.txns, |t| t.deadline_ms <= now_ms);
        for branch in due {
            if let Some(t) = self.txns.remove(&branch) {
                self.txn_failed(now_ms, t);
            }
        }
        let expired = keys_where(&self.subs, |s| s.expires_ms <= now_ms);
        for id in expired {
            self.notify(now_ms, id, true);
            self.subs.remove(&id);
        }
        let stale = keys_where(&self.publications, |p| p.expires_ms <= now_ms);
        for etag in stale {
            if let Some(p) = self.publications.remove(&etag) {
                self.settle(now_ms, &p.user);
            }
        }
        if let Ok(users) = self.store.purge_expired(now_ms) {
            for u in users {
                self.settle(now_ms, &u);
            }
        }
        self.flush_stores(now_ms);
    }

    /// How many connections are open (outbound ones included).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// How many messages wait for `user` at `now_ms`.
    pub fn stored(&self, user: &str, now_ms: u64) -> usize {
        self.store.count(user, now_ms)
    }

    fn mutant(&self, m: Mutant) -> bool {
        self.config.mutant == Some(m)
    }

    // ---- framing ----

    fn on_data(&mut self, now_ms: u64, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.buf.extend_from_slice(bytes);
        if c.service == Service::Msrp {
            self.on_msrp_data(now_ms, conn);
            return;
        }
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let ka = sip::keepalive(&c.buf);
            if ka > 0 {
                c.buf.drain(..ka);
                if ka >= 4 {
                    self.send(conn, b"\r\n".to_vec());
                }
                continue;
            }
            if c.buf.is_empty() {
                return;
            }
            let limits = &self.config.limits;
            let msg = match take_frame(&mut c.buf, |b| {
                Ok(sip::parse_with(b, limits)?.map(|(m, n)| (m.into_owned(), n)))
            }) {
                Ok(Some(msg)) => msg,
                Ok(None) => return,
                Err(()) => {
                    self.close(conn);
                    return;
                }
            };
            if msg.is_request() {
                // Whatever reads the store sees every MESSAGE answered before it.
                if msg.method() != Some(&sip::Method::MESSAGE) {
                    self.flush_stores(now_ms);
                }
                self.on_request(now_ms, conn, &msg);
            } else {
                self.on_response(now_ms, &msg);
            }
        }
    }

    fn drop_conn(&mut self, now_ms: u64, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let failed: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| t.conn == conn)
            .map(|(b, _)| b.clone())
            .collect();
        for branch in failed {
            if let Some(t) = self.txns.remove(&branch) {
                self.txn_failed(now_ms, t);
            }
        }
        if let Some(sid) = c.session {
            self.unbind_session(now_ms, &sid);
        }
    }

    /// Queues bytes for `conn`, unless it is gone (an answer to a sender who left).
    fn send(&mut self, conn: ConnId, bytes: Vec<u8>) {
        if self.conns.contains_key(&conn) {
            self.out.push_back(Output::Send { conn, bytes });
        }
    }

    fn send_msg(&mut self, conn: ConnId, msg: &Message<'_>) {
        self.send(conn, msg.to_bytes());
    }

    fn close(&mut self, conn: ConnId) {
        self.out.push_back(Output::Close { conn });
    }

    // ---- requests ----

    fn on_request(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>) {
        // An ACK is never answered, not even a malformed one (RFC 3261 §17.2.1).
        if msg.method().is_some_and(|m| m.as_str() == "ACK") {
            return;
        }
        let req = match check(msg) {
            Ok(r) => r,
            Err(problem) => {
                self.bad_request(conn, msg, problem);
                return;
            }
        };
        match msg.header("Max-Forwards").map(sip::header::delta_seconds) {
            Some(Ok(0)) => {
                self.reply(conn, msg, 483, "Too Many Hops", None, &[], None);
                return;
            }
            Some(Err(_)) => {
                self.reply_bad_request(conn, msg, "bad Max-Forwards");
                return;
            }
            _ => {}
        }
        let Some(uri) = &req.uri else {
            self.reply(conn, msg, 416, "Unsupported URI Scheme", None, &[], None);
            return;
        };
        if !self.is_ours(uri) {
            self.reply(conn, msg, 403, "Relay Forbidden", None, &[], None);
            return;
        }
        match req.method {
            "REGISTER" => self.register(now_ms, conn, msg, &req),
            "MESSAGE" => self.message(now_ms, conn, msg, &req),
            "SUBSCRIBE" => self.subscribe(now_ms, conn, msg, &req),
            "PUBLISH" => self.publish(now_ms, conn, msg, &req),
            "INVITE" => self.invite(now_ms, conn, msg, &req),
            "BYE" => self.bye(conn, msg, &req),
            "OPTIONS" => {
                let extra = [
                    ("Allow", ALLOW.to_owned()),
                    (
                        "Accept",
                        "application/sdp, application/simple-message-summary".to_owned(),
                    ),
                ];
                self.reply(conn, msg, 200, "OK", None, &extra, None);
            }
            "CANCEL" => self.no_transaction(conn, msg),
            "NOTIFY" | "INFO" | "REFER" | "UPDATE" | "PRACK" => {
                let extra = [("Allow", ALLOW.to_owned())];
                self.reply(conn, msg, 405, "Method Not Allowed", None, &extra, None);
            }
            _ => {
                let extra = [("Allow", ALLOW.to_owned())];
                self.reply(conn, msg, 501, "Not Implemented", None, &extra, None);
            }
        }
    }

    /// The user a request addresses (404 when missing, reserved or unknown).
    fn user_of<'u>(
        &mut self,
        conn: ConnId,
        msg: &Message<'_>,
        uri: Option<&'u Uri<'_>>,
    ) -> Option<&'u str> {
        match uri.and_then(|u| u.user.as_deref()) {
            Some(u) if u != MAILBOX_USER && self.config.accounts.exists(u) => Some(u),
            _ => {
                self.reply(conn, msg, 404, "Not Found", None, &[], None);
                None
            }
        }
    }

    // ---- responses ----

    /// A response to `req` on `conn`: Via, From, To (with `to_tag`, or a fresh tag on a final
    /// response to a request without one), Call-ID and CSeq copied; then `extra` and the body.
    #[allow(clippy::too_many_arguments)]
    fn reply(
        &mut self,
        conn: ConnId,
        req: &Message<'_>,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        extra: &[(&str, String)],
        body: Option<(&str, Vec<u8>)>,
    ) {
        let mut resp = Message::response(status, reason.to_owned());
        let untagged = self.mutant(Mutant::SipRegisterNoToTag)
            && req.method().is_some_and(|m| m.as_str() == "REGISTER");
        for h in req.headers.iter() {
            let name = sip::header::full_name(&h.name);
            if name.eq_ignore_ascii_case("Via")
                || name.eq_ignore_ascii_case("From")
                || name.eq_ignore_ascii_case("Call-ID")
                || name.eq_ignore_ascii_case("CSeq")
            {
                resp.headers.push(h.name.to_string(), h.value.to_string());
            } else if name.eq_ignore_ascii_case("To") {
                let tagged = NameAddr::parse(&h.value).is_ok_and(|t| t.tag().is_some());
                let value = match (tagged, to_tag) {
                    (false, Some(tag)) => format!("{};tag={tag}", h.value),
                    (false, None) if status >= 200 && !untagged => {
                        format!("{};tag={}", h.value, self.rng.hex(8))
                    }
                    _ => h.value.to_string(),
                };
                resp.headers.push(h.name.to_string(), value);
            }
        }
        for (name, value) in extra {
            resp.headers.push((*name).to_owned(), value.clone());
        }
        let resp = match body {
            Some((ct, bytes)) => resp
                .with_header("Content-Type", ct.to_owned())
                .with_body(bytes),
            None => resp.with_body(Vec::new()),
        };
        self.send_msg(conn, &resp);
    }

    /// `481 Call/Transaction Does Not Exist`: a CANCEL (the server answers every request at
    /// once, so nothing is left to cancel) or a BYE outside any session (RFC 3261 §9.2,
    /// §15.1.2).
    fn no_transaction(&mut self, conn: ConnId, msg: &Message<'_>) {
        self.reply(
            conn,
            msg,
            481,
            "Call/Transaction Does Not Exist",
            None,
            &[],
            None,
        );
    }

    fn bad_request(&mut self, conn: ConnId, msg: &Message<'_>, problem: &str) {
        if self.mutant(Mutant::SipMalformedIgnored) {
            return;
        }
        self.reply_bad_request(conn, msg, problem);
    }

    /// 400 with `problem` in a `Warning` (code 399), whatever the mutant.
    fn reply_bad_request(&mut self, conn: ConnId, msg: &Message<'_>, problem: &str) {
        let warning = format!("399 imspec \"{problem}\"");
        self.reply(
            conn,
            msg,
            400,
            "Bad Request",
            None,
            &[("Warning", warning)],
            None,
        );
    }

    /// Whether `uri` names one of our hosts (the port is not compared).
    fn is_ours(&self, uri: &Uri<'_>) -> bool {
        let host = uri.host_unbracketed();
        host.eq_ignore_ascii_case(self.host().trim_start_matches('[').trim_end_matches(']'))
            || self
                .config
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(host))
    }

    fn host(&self) -> &str {
        split_host_port(&self.config.sip_address).0
    }

    /// Whether a Route URI names this proxy: one of our hosts, on our port or none.
    fn routes_here(&self, uri: &str) -> bool {
        let port = split_host_port(&self.config.sip_address).1.parse().ok();
        sip_uri(uri).is_some_and(|u| self.is_ours(&u) && (u.port.is_none() || u.port == port))
    }

    fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.rng.hex(10))
    }

    fn via(&self, branch: &str) -> String {
        format!("SIP/2.0/TCP {};branch={branch}", self.config.sip_address)
    }

    fn contact(&self) -> String {
        format!("<sip:{};transport=tcp>", self.config.sip_address)
    }

    /// The URI that `Message-Account` names: the MSRP mailbox.
    pub fn message_account(&self) -> String {
        format!("sip:{MAILBOX_USER}@{}", self.config.sip_address)
    }
}

/// The keys of the entries of `map` whose value is `due` (to remove them after).
fn keys_where<'m, K: Clone + 'm, V: 'm>(
    map: impl IntoIterator<Item = (&'m K, &'m V)>,
    due: impl Fn(&V) -> bool,
) -> Vec<K> {
    map.into_iter()
        .filter(|(_, v)| due(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The next frame at the front of `buf`, decoded (and owned) by `parse` and drained from
/// `buf`: `Ok(None)` while it is incomplete, `Err` when the bytes are not a frame.
fn take_frame<T>(
    buf: &mut Vec<u8>,
    parse: impl FnOnce(&[u8]) -> imspec_codec::Result<(T, usize)>,
) -> Result<Option<T>, ()> {
    match parse(buf) {
        Ok(Status::Complete((frame, n))) => {
            buf.drain(..n);
            Ok(Some(frame))
        }
        Ok(Status::Incomplete(_)) => Ok(None),
        Err(_) => Err(()),
    }
}

/// The headers every request needs (RFC 3261 §8.1.1), or what is wrong.
fn check<'m>(msg: &'m Message<'_>) -> Result<Req<'m>, &'static str> {
    let method = msg.method().map(sip::Method::as_str).unwrap_or_default();
    match msg.vias() {
        Ok(v) if !v.is_empty() => {}
        _ => return Err("missing or bad Via"),
    }
    let from = msg
        .from()
        .and_then(Result::ok)
        .ok_or("missing or bad From")?;
    let to = msg.to().and_then(Result::ok).ok_or("missing or bad To")?;
    let call_id = msg
        .call_id()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or("missing Call-ID")?;
    let cseq = msg
        .cseq()
        .and_then(Result::ok)
        .ok_or("missing or bad CSeq")?;
    if cseq.method.as_str() != method {
        return Err("CSeq method differs from the request's");
    }
    Ok(Req {
        method,
        uri: msg.uri().and_then(sip_uri),
        from,
        to,
        call_id,
    })
}

/// A `sip:` URI (Request-URI, `To`, `From`, `Contact`, `Route`) read by the codec with its
/// leniencies on, as a reader of other implementations should (RFC 3261 §19.1 strictly
/// forbids what some user agents write, such as unescaped characters in a user part);
/// `None` for other schemes and for URIs that do not parse. `sips:` is `None` too: the server
/// has no TLS, so such a Request-URI gets `416` and such a Contact is unreachable.
fn sip_uri(value: &str) -> Option<Uri<'_>> {
    Uri::parse_with(value, &uri::Limits::lenient())
        .ok()
        .filter(|u| !u.is_sips())
}

/// `host:port` → (`host`, `port`); IPv6 references keep their brackets.
fn split_host_port(addr: &str) -> (&str, &str) {
    match addr.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') && (!h.contains(':') || h.ends_with(']')) => (h, p),
        _ => (addr, ""),
    }
}
