//! The SIP reference server, sans-IO (issue 7, docs/protocols/sip.md, seed 003): registrar, MESSAGE
//! relay, msilo-style offline store, RFC 3842 `message-summary` state agent, and the seed's
//! "approach 2" mailbox that hands stored messages over MSRP (RFC 4975).
//!
//! One [`Hub`] owns every SIP connection (`Service::Sip`) and every MSRP connection
//! (`Service::Msrp`). The driver feeds it [`Event`]s with the time and polls [`Output`]s, the
//! outbound connections it wants ([`Hub::poll_connect`]) and its next deadline
//! ([`Hub::poll_timeout`]); nothing inside reads a socket, a clock or the environment.
//!
//! # What a scenario can rely on
//!
//! * **Transport**: SIP over TCP only (`imspec serve --sip ADDR`, printed as
//!   `listening sip <addr>`); MSRP over TCP on a second listener (same host, port 0, printed as
//!   `listening msrp <addr>`). Framing by `Content-Length` with the [`imspec_codec::sip`]
//!   codec, lenient forms accepted (`Name:value`, folded lines, bare LF); a CRLFCRLF
//!   keep-alive is answered with CRLF (RFC 5626).
//! * **Domain**: a Request-URI (and a REGISTER's `To`) is ours when its host is the SIP
//!   listener's host (`127.0.0.1`), `localhost` or [`DOMAIN`] (`imspec.test`); the port is not
//!   compared. Anything else → `403 Relay Forbidden` (the Kamailio config of docs/protocols/peers.md §2.1).
//!   A `sips:`/`tel:` Request-URI → `416 Unsupported URI Scheme`.
//! * **Accounts**: the same policy as Fetion and MSNP (`--accounts FILE`; by default every
//!   user name exists). A user that does not exist → `404 Not Found` (REGISTER, MESSAGE,
//!   SUBSCRIBE, PUBLISH). No digest authentication (the Kamailio peer has none either).
//!   The user [`MAILBOX_USER`] (`offline`) is reserved for the mailbox.
//! * **REGISTER**: bindings per user (the `To` user); expiry from the Contact's `expires`
//!   parameter, else the `Expires` header, else [`REGISTER_EXPIRES`] s; `expires=0` removes
//!   that contact, `Contact: *` with `Expires: 0` removes all; no Contact only queries. `200 OK`
//!   lists every live binding as `Contact: <uri>;expires=<seconds left>` (none after the last
//!   one is removed). After a REGISTER that adds or refreshes a binding, the user's stored
//!   messages are dumped to that Contact (msilo's `m_dump`).
//! * **Reaching a user agent** (relay, dump, NOTIFY): over the connection the request came
//!   on (the REGISTER's, the SUBSCRIBE's) while it is open and either the Contact's
//!   `host:port` equals the connection's source address (what Kamailio does), the Contact has
//!   the RFC 5626 `;ob` parameter, or the connection is in memory (no address). Otherwise the
//!   server opens (or reuses) a TCP connection to the Contact's IP literal and port (5060 if
//!   none; `transport=udp`/`tls`/`ws` and host names are unreachable: no UDP, no DNS). A
//!   harness client on an ephemeral port therefore writes its own address in `Contact` (or
//!   `;ob`) to get connection reuse.
//! * **MESSAGE** to a user with live bindings: relayed to every binding (a proxy's copy:
//!   Request-URI = the Contact, our `Via` on top, `Max-Forwards` minus one, everything else as
//!   sent); the first 2xx goes back to the sender (our `Via` removed). When no binding is
//!   reachable, or every branch answers non-2xx, times out after [`RELAY_TIMEOUT_MS`] or loses
//!   its connection: the message is stored durably and the sender gets `202 Accepted` (msilo +
//!   the `failure_route` of docs/protocols/peers.md §2.1; `503` if the store fails). No binding at all → stored,
//!   `202`. Provisional responses are not forwarded.
//! * **Dump**: each stored message (not expired, not already in flight) goes, in storage
//!   order, as a new MESSAGE: new `Call-ID`, `CSeq: 1 MESSAGE`, `From` = the original sender
//!   with a new tag, `To` = the original `To`, `Date` = arrival time, the original
//!   `Content-Type` and body unchanged (no msilo `[Offline message - …]` prefix). All are sent
//!   at once (pipelined in order); each is deleted only after the user agent's 2xx; a non-2xx,
//!   a timeout or a lost connection keeps it for the next REGISTER. Stored messages expire after
//!   [`Config::expiry_ms`] (default 7 days) and are then never delivered.
//! * **MWI** (RFC 3842/6665): `SUBSCRIBE` with `Event: message-summary` (else `489 Bad Event`)
//!   to `sip:<user>@<domain>` → `200 OK` (Kamailio's code, not 202) with `Expires` (default
//!   [`SUBSCRIBE_EXPIRES`]) and a `Contact`, then at once a NOTIFY with
//!   `Subscription-State: active;expires=N` and an `application/simple-message-summary` body:
//!   `Messages-Waiting: yes|no`, `Message-Account: sip:offline@<sip host:port>`,
//!   `Text-Message: <stored>/0`, then the summary lines of any PUBLISHed state for that user
//!   (other classes than Text-Message); `yes` when messages are stored or a publication says
//!   yes. A NOTIFY follows whenever that body changes (message stored, dump or MSRP delivery
//!   finished, expiry, PUBLISH), at most one per change, after all in-flight deliveries of the
//!   user settled. A refresh (in-dialog SUBSCRIBE) gets `200` and a NOTIFY; `Expires: 0` gets
//!   `200` and a final NOTIFY `terminated;reason=timeout` (also for an initial SUBSCRIBE: a
//!   fetch); an unknown dialog `481`; an expired subscription a final NOTIFY. A NOTIFY answered
//!   `481` ends the subscription.
//! * **PUBLISH** `Event: message-summary` (RFC 3903): a body
//!   (`application/simple-message-summary`, else `415`; unparsable `400`) creates state → `200 OK` + `SIP-ETag` + `Expires`
//!   (default [`PUBLISH_EXPIRES`]); `SIP-If-Match` refreshes (no body) or modifies (body) and
//!   gets a new ETag; an unknown ETag → `412 Conditional Request Failed`; `Expires: 0` removes.
//!   Subscribers are NOTIFYed as above.
//! * **MSRP mailbox** (seed 003 approach 2): `INVITE sip:offline@<domain>`; the `From` user
//!   selects the mailbox (must exist and be of our domain, else `403`). The body must be SDP
//!   with `m=message <port> TCP/MSRP *` and `a=path:` (else `488 Not Acceptable Here`). `200 OK`
//!   carries an SDP answer whose `a=path:msrp://<msrp host:port>/<session>;tcp` points at the
//!   MSRP listener. The client (the offerer, RFC 4975 §5.4) connects there and sends a `SEND`
//!   (an empty one is fine) to that path: the server answers `200` and then SENDs every stored
//!   message, oldest first, one complete chunk each (`Byte-Range: 1-N/N`, `Message-ID:
//!   imspec<id>`), as `message/cpim` (`From`, `To`, `DateTime` headers, then `Content-Type` and
//!   the original body; RFC 3862) when the offer's `a=accept-types` lists `message/cpim`,
//!   `message/*` or `*`, else the bare body with its own content type. Each message is deleted
//!   after the client's `200` for its SEND; when the last one is gone subscribers get a NOTIFY
//!   `Messages-Waiting: no`. The client ends the session with `BYE` (`200 OK`; the MSRP
//!   connection is closed). Other INVITEs → `480 Temporarily Unavailable` (no session relay).
//! * **Other requests**: `OPTIONS` → `200 OK` with `Allow`; `ACK` absorbed; `CANCEL` → `481`;
//!   `NOTIFY`, `INFO`, `REFER`, `UPDATE`, `PRACK` → `405`; anything else → `501`.
//! * **Bad input**: a request that frames but lacks or garbles `Via`, `From`, `To`, `Call-ID`
//!   or `CSeq` (or whose CSeq method differs) → `400 Bad Request` echoing what it has, with a
//!   `Warning: 399` naming the problem; `Max-Forwards: 0` → `483 Too Many Hops`. A message the
//!   codec cannot frame (no `Content-Length`, bad start line, size limits) closes that one
//!   connection. Nothing stored is lost either way; the hub never panics on peer data.
//!
//! * **Durability**: only stored messages survive a restart (`--data DIR` → `DIR/sip.redb`;
//!   in memory without it); registrations, subscriptions, publications and MSRP sessions live
//!   in memory, as with the Kamailio peer (`usrloc db_mode=0`). The MESSAGEs of one read are
//!   committed together (one fsync) and each is answered `202` only after that commit.
//!
//! Mutants ([`Mutant`] `sip-*`) each break exactly one of these rules.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};

use imspec_codec::Status;
use imspec_codec::msrp::{self, Chunk};
use imspec_codec::sip::header::NameAddr;
use imspec_codec::sip::message_summary::{self, Class, MessageSummary, Summary};
use imspec_codec::sip::{self, Limits, Message};

use super::rng::Rng;
use super::{ConnId, Event, Mutant, Output, Service};
use crate::accounts::Accounts;
use imspec_codec::date::{format_iso8601_ms, format_rfc1123};

mod sdp;
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
    store: Mailbox,
    conns: HashMap<ConnId, Conn>,
    next_out: ConnId,
    bindings: HashMap<String, Vec<Binding>>,
    txns: HashMap<String, ClientTxn>,
    relays: HashMap<u64, Relay>,
    next_id: u64,
    subs: HashMap<u64, Subscription>,
    publications: HashMap<String, Publication>,
    sessions: HashMap<String, Session>,
    in_flight: HashSet<(String, u64)>,
    /// MESSAGEs to store, committed together before anything that could observe them.
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

struct Binding {
    contact: String,
    conn: ConnId,
    expires_ms: u64,
}

struct ClientTxn {
    conn: ConnId,
    deadline_ms: u64,
    kind: TxnKind,
}

enum TxnKind {
    Relay(u64),
    Dump { user: String, id: u64 },
    Notify(u64),
}

struct Relay {
    origin: ConnId,
    request: Message<'static>,
    user: String,
    pending: usize,
    done: bool,
}

struct Subscription {
    user: String,
    call_id: String,
    local_tag: String,
    remote_tag: Option<String>,
    local_uri: String,
    remote_uri: String,
    contact: String,
    conn: ConnId,
    event: String,
    expires_ms: u64,
    cseq: u32,
    last_body: Vec<u8>,
}

struct ToStore {
    conn: ConnId,
    request: Message<'static>,
    user: String,
    offline: Offline,
}

struct Publication {
    user: String,
    body: Vec<u8>,
    expires_ms: u64,
}

struct Session {
    user: String,
    call_id: String,
    local_tag: String,
    /// The client's MSRP path (`a=path` of its offer, later its From-Path).
    client_path: String,
    /// Our MSRP URI (`a=path` of the answer).
    our_path: String,
    cpim: bool,
    msrp_conn: Option<ConnId>,
    /// Outstanding SENDs: transaction id → stored message id.
    pending: HashMap<String, u64>,
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
        if !self.is_ours(uri.host) {
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
            "CANCEL" => {
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
        uri: Option<&Uri<'u>>,
    ) -> Option<&'u str> {
        match uri.and_then(|u| u.user) {
            Some(u) if u != MAILBOX_USER && self.config.accounts.exists(u) => Some(u),
            _ => {
                self.reply(conn, msg, 404, "Not Found", None, &[], None);
                None
            }
        }
    }

    fn register(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        let to = Uri::parse(&req.to.uri);
        if let Some(to) = &to
            && !self.is_ours(to.host)
        {
            self.reply(conn, msg, 403, "Relay Forbidden", None, &[], None);
            return;
        }
        let Some(user) = self.user_of(conn, msg, to.as_ref()) else {
            return;
        };
        let default = match msg.expires() {
            None => REGISTER_EXPIRES,
            Some(Ok(e)) => e,
            Some(Err(_)) => {
                self.bad_request(conn, msg, "bad Expires");
                return;
            }
        };
        let raw: Vec<&str> = msg.header_all("Contact").collect();
        let mut dump_to = None;
        if raw.iter().any(|v| v.trim() == "*") {
            if raw.len() != 1 || default != 0 || msg.header("Expires").is_none() {
                self.bad_request(
                    conn,
                    msg,
                    "Contact: * needs Expires: 0 and no other Contact",
                );
                return;
            }
            if !self.mutant(Mutant::SipUnregisterIgnored) {
                self.bindings.remove(user);
            }
        } else {
            let Ok(contacts) = msg.contacts() else {
                self.bad_request(conn, msg, "bad Contact");
                return;
            };
            let mut updates = Vec::new();
            for c in &contacts {
                let expires = match c.param("expires").map(sip::header::delta_seconds) {
                    None => default,
                    Some(Ok(e)) => e,
                    Some(Err(_)) => {
                        self.bad_request(conn, msg, "bad expires parameter");
                        return;
                    }
                };
                updates.push((c.uri.to_string(), expires));
            }
            let unregister_ignored = self.mutant(Mutant::SipUnregisterIgnored);
            let list = self.bindings.entry(user.to_owned()).or_default();
            for (contact, expires) in updates {
                if expires == 0 {
                    if !unregister_ignored {
                        list.retain(|b| b.contact != contact);
                    }
                    continue;
                }
                let expires_ms = now_ms + u64::from(expires) * 1000;
                match list.iter_mut().find(|b| b.contact == contact) {
                    Some(b) => {
                        b.conn = conn;
                        b.expires_ms = expires_ms;
                    }
                    None => list.push(Binding {
                        contact: contact.clone(),
                        conn,
                        expires_ms,
                    }),
                }
                dump_to.get_or_insert(contact);
            }
        }
        let live: Vec<(String, u64)> = match self.bindings.get_mut(user) {
            Some(list) => {
                list.retain(|b| b.expires_ms > now_ms);
                list.iter()
                    .map(|b| (b.contact.clone(), (b.expires_ms - now_ms).div_ceil(1000)))
                    .collect()
            }
            None => Vec::new(),
        };
        if live.is_empty() {
            self.bindings.remove(user);
        }
        let extra: Vec<(&str, String)> = live
            .iter()
            .map(|(c, left)| ("Contact", format!("<{c}>;expires={left}")))
            .collect();
        self.reply(conn, msg, 200, "OK", None, &extra, None);
        if let Some(contact) = dump_to {
            self.dump(now_ms, user, &contact, conn);
        }
    }

    fn message(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        if req.uri.as_ref().and_then(|u| u.user) == Some(MAILBOX_USER) {
            let extra = [("Allow", "INVITE, ACK, BYE".to_owned())];
            self.reply(conn, msg, 405, "Method Not Allowed", None, &extra, None);
            return;
        }
        let Some(user) = self.user_of(conn, msg, req.uri.as_ref()) else {
            return;
        };
        let contacts: Vec<(String, ConnId)> = self
            .bindings
            .get(user)
            .map(|list| {
                list.iter()
                    .filter(|b| b.expires_ms > now_ms)
                    .map(|b| (b.contact.clone(), b.conn))
                    .collect()
            })
            .unwrap_or_default();
        let mut branches = Vec::new();
        for (contact, origin) in contacts {
            if let Some(route) = self.route(&contact, Some(origin)) {
                branches.push((contact, route));
            }
        }
        if branches.is_empty() {
            self.store_offline(now_ms, conn, msg, user);
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let deadline_ms = now_ms + self.config.relay_timeout_ms;
        for (contact, route) in &branches {
            let branch = self.branch();
            let keep_route = self.mutant(Mutant::SipRelayKeepsOwnRoute);
            let fwd = forward(msg, contact, &self.via(&branch), &|uri: &str| {
                !keep_route && self.routes_here(uri)
            });
            self.txns.insert(
                branch,
                ClientTxn {
                    conn: *route,
                    deadline_ms,
                    kind: TxnKind::Relay(id),
                },
            );
            self.send_msg(*route, &fwd);
        }
        self.relays.insert(
            id,
            Relay {
                origin: conn,
                request: msg.clone().into_owned(),
                user: user.to_owned(),
                pending: branches.len(),
                done: false,
            },
        );
    }

    fn store_offline(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, user: &str) {
        if is_status_message(msg) && !self.mutant(Mutant::SipStoresIsComposing) {
            // An RFC 3994 indication is about a conversation going on now (its receiver drops
            // the "active" state after the refresh interval or 120 s): delivered late it
            // would be stale, and it is not a message waiting. Nothing is stored.
            self.reply(conn, msg, 480, "Temporarily Unavailable", None, &[], None);
            return;
        }
        let offline = Offline {
            id: 0,
            arrival_ms: now_ms,
            expires_ms: now_ms + self.config.expiry_ms,
            from: msg.header("From").map(without_tag).unwrap_or_default(),
            to: msg.header("To").map(without_tag).unwrap_or_default(),
            content_type: msg.header("Content-Type").map(str::to_owned),
            body: msg.body.to_vec(),
        };
        self.to_store.push(ToStore {
            conn,
            request: msg.clone().into_owned(),
            user: user.to_owned(),
            offline,
        });
    }

    /// Commits the queued MESSAGEs in one transaction, then answers each: `202` once durable
    /// (`503` if the commit failed), and NOTIFYs their users' watchers.
    fn flush_stores(&mut self, now_ms: u64) {
        if self.to_store.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.to_store);
        let items = batch
            .iter()
            .map(|t| (t.user.clone(), t.offline.clone()))
            .collect();
        let stored = self.store.store_many(items, now_ms).is_ok();
        let mut users: Vec<&str> = Vec::new();
        for t in &batch {
            match (stored, self.mutant(Mutant::Sip202As200)) {
                (true, false) => self.reply(t.conn, &t.request, 202, "Accepted", None, &[], None),
                (true, true) => self.reply(t.conn, &t.request, 200, "OK", None, &[], None),
                (false, _) => {
                    self.reply(
                        t.conn,
                        &t.request,
                        503,
                        "Service Unavailable",
                        None,
                        &[],
                        None,
                    );
                }
            }
            if !users.contains(&t.user.as_str()) {
                users.push(&t.user);
            }
        }
        if stored {
            for u in users {
                self.settle(now_ms, u);
            }
        }
    }

    fn dump(&mut self, now_ms: u64, user: &str, contact: &str, origin: ConnId) {
        let Ok(mut msgs) = self.store.list(user, now_ms) else {
            return;
        };
        msgs.retain(|m| !self.in_flight.contains(&(user.to_owned(), m.id)));
        if self.mutant(Mutant::SipDumpOutOfOrder) {
            msgs.reverse();
        }
        let mut deleted = false;
        for m in msgs {
            let Some(route) = self.route(contact, Some(origin)) else {
                break;
            };
            let branch = self.branch();
            let tag = self.rng.hex(8);
            let call_id = format!("{}@{}", self.rng.hex(12), self.host());
            let mut req = Message::request(sip::Method::MESSAGE, contact.to_owned())
                .with_header("Via", self.via(&branch))
                .with_header("Max-Forwards", "70")
                .with_header("From", format!("{};tag={tag}", m.from))
                .with_header("To", m.to.clone())
                .with_header("Call-ID", call_id)
                .with_header("CSeq", "1 MESSAGE")
                .with_header("Date", format_rfc1123(m.arrival_ms / 1000));
            if let Some(ct) = &m.content_type {
                req = req.with_header("Content-Type", ct.clone());
            }
            let req = req.with_body(m.body.clone());
            self.in_flight.insert((user.to_owned(), m.id));
            self.txns.insert(
                branch,
                ClientTxn {
                    conn: route,
                    deadline_ms: now_ms + self.config.relay_timeout_ms,
                    kind: TxnKind::Dump {
                        user: user.to_owned(),
                        id: m.id,
                    },
                },
            );
            self.send_msg(route, &req);
            if self.mutant(Mutant::SipDeleteBefore2xx) {
                deleted |= self.store.remove(user, m.id).unwrap_or(false);
            }
        }
        if deleted {
            self.settle(now_ms, user);
        }
    }

    fn subscribe(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        let Some(event) = self.event_ok(conn, msg) else {
            return;
        };
        let expires = match msg.expires() {
            None => SUBSCRIBE_EXPIRES,
            Some(Ok(e)) => e,
            Some(Err(_)) => {
                self.bad_request(conn, msg, "bad Expires");
                return;
            }
        };
        let expires = if expires == 0 && self.mutant(Mutant::SipUnsubscribeStillActive) {
            SUBSCRIBE_EXPIRES
        } else {
            expires
        };
        let expires_ms = now_ms + u64::from(expires) * 1000;
        let contact_hdr = [("Contact", self.contact())];
        if let Some(tag) = req.to.tag() {
            let found = self
                .subs
                .iter()
                .find(|(_, s)| s.call_id == req.call_id && s.local_tag == tag)
                .map(|(id, _)| *id);
            let Some(id) = found else {
                self.reply(
                    conn,
                    msg,
                    481,
                    "Subscription Does Not Exist",
                    None,
                    &[],
                    None,
                );
                return;
            };
            if let Some(s) = self.subs.get_mut(&id) {
                s.expires_ms = expires_ms;
            }
            let extra = [contact_hdr[0].clone(), ("Expires", expires.to_string())];
            self.reply(conn, msg, 200, "OK", Some(tag), &extra, None);
            self.finish_subscribe(now_ms, id, expires);
            return;
        }
        let Some(user) = self.user_of(conn, msg, req.uri.as_ref()) else {
            return;
        };
        let contact = match msg.contacts() {
            Ok(c) if !c.is_empty() => c.first().map(|c| c.uri.to_string()).unwrap_or_default(),
            _ => {
                self.bad_request(conn, msg, "SUBSCRIBE needs one Contact");
                return;
            }
        };
        let local_tag = self.rng.hex(8);
        let id = self.next_id;
        self.next_id += 1;
        self.subs.insert(
            id,
            Subscription {
                user: user.to_owned(),
                call_id: req.call_id.to_owned(),
                local_tag: local_tag.clone(),
                remote_tag: req.from.tag().map(str::to_owned),
                local_uri: msg.header("To").map(without_tag).unwrap_or_default(),
                remote_uri: msg.header("From").map(without_tag).unwrap_or_default(),
                contact,
                conn,
                event,
                expires_ms,
                cseq: 0,
                last_body: Vec::new(),
            },
        );
        let extra = [contact_hdr[0].clone(), ("Expires", expires.to_string())];
        self.reply(conn, msg, 200, "OK", Some(&local_tag), &extra, None);
        self.finish_subscribe(now_ms, id, expires);
    }

    /// The NOTIFY that follows every accepted SUBSCRIBE.
    fn finish_subscribe(&mut self, now_ms: u64, id: u64, expires: u32) {
        if expires == 0 {
            self.notify(now_ms, id, true);
            self.subs.remove(&id);
        } else {
            self.notify(now_ms, id, false);
        }
    }

    fn publish(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        if self.event_ok(conn, msg).is_none() {
            return;
        }
        let Some(user) = self.user_of(conn, msg, req.uri.as_ref()) else {
            return;
        };
        let expires = match msg.expires() {
            None => PUBLISH_EXPIRES,
            Some(Ok(e)) => e,
            Some(Err(_)) => {
                self.bad_request(conn, msg, "bad Expires");
                return;
            }
        };
        let body = if msg.body.is_empty() {
            None
        } else {
            let ct_ok = msg.content_type().and_then(Result::ok).is_some_and(|ct| {
                ct.kind.eq_ignore_ascii_case("application")
                    && ct.subtype.eq_ignore_ascii_case("simple-message-summary")
            });
            if !ct_ok {
                let extra = [("Accept", "application/simple-message-summary".to_owned())];
                self.reply(conn, msg, 415, "Unsupported Media Type", None, &extra, None);
                return;
            }
            if message_summary::parse_with(&msg.body, &message_summary::Limits::lenient()).is_err()
            {
                self.bad_request(conn, msg, "bad message-summary body");
                return;
            }
            Some(msg.body.to_vec())
        };
        let old = match msg.header("SIP-If-Match") {
            Some(etag) => {
                let etag = etag.trim();
                let known = self
                    .publications
                    .get(etag)
                    .is_some_and(|p| p.user == user && p.expires_ms > now_ms);
                if known {
                    self.publications.remove(etag)
                } else if self.mutant(Mutant::SipPublishUnknownEtagOk) {
                    None
                } else {
                    self.reply(
                        conn,
                        msg,
                        412,
                        "Conditional Request Failed",
                        None,
                        &[],
                        None,
                    );
                    return;
                }
            }
            None if body.is_none() => {
                self.bad_request(conn, msg, "PUBLISH without body or SIP-If-Match");
                return;
            }
            None => None,
        };
        let Some(body) = body.or(old.map(|p| p.body)) else {
            // An unknown ETag accepted by the mutant, with nothing to keep.
            let extra = [
                ("SIP-ETag", self.rng.hex(8)),
                ("Expires", expires.to_string()),
            ];
            self.reply(conn, msg, 200, "OK", None, &extra, None);
            return;
        };
        if expires == 0 {
            self.reply(
                conn,
                msg,
                200,
                "OK",
                None,
                &[("Expires", "0".to_owned())],
                None,
            );
        } else {
            let etag = self.rng.hex(8);
            self.publications.insert(
                etag.clone(),
                Publication {
                    user: user.to_owned(),
                    body,
                    expires_ms: now_ms + u64::from(expires) * 1000,
                },
            );
            let extra = [("SIP-ETag", etag), ("Expires", expires.to_string())];
            self.reply(conn, msg, 200, "OK", None, &extra, None);
        }
        self.settle(now_ms, user);
    }

    fn invite(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        let to_mailbox = req.uri.as_ref().and_then(|u| u.user) == Some(MAILBOX_USER);
        if !to_mailbox || req.to.tag().is_some() {
            self.reply(conn, msg, 480, "Temporarily Unavailable", None, &[], None);
            return;
        }
        let owner = Uri::parse(&req.from.uri)
            .filter(|u| self.is_ours(u.host))
            .and_then(|u| u.user)
            .filter(|u| *u != MAILBOX_USER && self.config.accounts.exists(u));
        let Some(owner) = owner else {
            self.reply(conn, msg, 403, "Forbidden", None, &[], None);
            return;
        };
        let is_sdp = msg.content_type().and_then(Result::ok).is_some_and(|ct| {
            ct.kind.eq_ignore_ascii_case("application") && ct.subtype.eq_ignore_ascii_case("sdp")
        });
        let offer = msg
            .body_text()
            .filter(|_| is_sdp)
            .and_then(sdp::parse_offer);
        let Some(offer) = offer else {
            self.reply(conn, msg, 488, "Not Acceptable Here", None, &[], None);
            return;
        };
        let sid = self.rng.hex(10);
        let local_tag = self.rng.hex(8);
        let our_path = format!("msrp://{}/{sid};tcp", self.config.msrp_address);
        let (host, port) = split_host_port(&self.config.msrp_address);
        let answer = sdp::answer(&sid, host, port, &our_path);
        self.sessions.insert(
            sid.clone(),
            Session {
                user: owner.to_owned(),
                call_id: req.call_id.to_owned(),
                local_tag: local_tag.clone(),
                client_path: offer.path.clone(),
                our_path,
                cpim: offer.accepts_cpim(),
                msrp_conn: None,
                pending: HashMap::new(),
            },
        );
        let extra = [("Contact", self.contact())];
        let body = ("application/sdp", answer.into_bytes());
        self.reply(conn, msg, 200, "OK", Some(&local_tag), &extra, Some(body));
        let _ = now_ms;
    }

    fn bye(&mut self, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        let tags = [req.to.tag(), req.from.tag()];
        let found = self
            .sessions
            .iter()
            .find(|(_, s)| s.call_id == req.call_id && tags.contains(&Some(s.local_tag.as_str())))
            .map(|(id, _)| id.clone());
        let Some(sid) = found else {
            self.reply(
                conn,
                msg,
                481,
                "Call/Transaction Does Not Exist",
                None,
                &[],
                None,
            );
            return;
        };
        self.reply(conn, msg, 200, "OK", None, &[], None);
        if let Some(s) = self.sessions.remove(&sid) {
            for id in s.pending.values() {
                self.in_flight.remove(&(s.user.clone(), *id));
            }
            if let Some(c) = s.msrp_conn {
                if let Some(conn) = self.conns.get_mut(&c) {
                    conn.session = None;
                }
                self.close(c);
            }
        }
    }

    // ---- responses to the server's own requests ----

    fn on_response(&mut self, now_ms: u64, msg: &Message<'_>) {
        let Some(status) = msg.status() else {
            return;
        };
        if status < 200 {
            return;
        }
        let branch = msg
            .vias()
            .ok()
            .and_then(|v| v.first().and_then(|v| v.branch().map(str::to_owned)));
        let Some(t) = branch.and_then(|b| self.txns.remove(&b)) else {
            return;
        };
        match t.kind {
            TxnKind::Relay(id) => self.relay_answer(now_ms, id, Some(msg)),
            TxnKind::Dump { user, id } => {
                self.in_flight.remove(&(user.clone(), id));
                if (200..300).contains(&status) && !self.mutant(Mutant::SipDeleteBefore2xx) {
                    let _ = self.store.remove(&user, id);
                }
                self.settle(now_ms, &user);
            }
            TxnKind::Notify(id) => {
                if status == 481 {
                    self.subs.remove(&id);
                }
            }
        }
    }

    fn txn_failed(&mut self, now_ms: u64, t: ClientTxn) {
        match t.kind {
            TxnKind::Relay(id) => self.relay_answer(now_ms, id, None),
            TxnKind::Dump { user, id } => {
                self.in_flight.remove(&(user.clone(), id));
                self.settle(now_ms, &user);
            }
            TxnKind::Notify(_) => {}
        }
    }

    fn relay_answer(&mut self, now_ms: u64, id: u64, resp: Option<&Message<'_>>) {
        let Some(r) = self.relays.get_mut(&id) else {
            return;
        };
        r.pending = r.pending.saturating_sub(1);
        let mut forward_to = None;
        if let Some(m) = resp
            && m.status().is_some_and(|s| (200..300).contains(&s))
            && !r.done
        {
            r.done = true;
            forward_to = Some((r.origin, pop_via(m)));
        }
        if let Some((origin, m)) = forward_to {
            self.send_msg(origin, &m);
        }
        if self.relays.get(&id).is_some_and(|r| r.pending == 0)
            && let Some(r) = self.relays.remove(&id)
            && !r.done
        {
            if self.mutant(Mutant::SipRelayDropsOffline) {
                self.reply(
                    r.origin,
                    &r.request,
                    480,
                    "Temporarily Unavailable",
                    None,
                    &[],
                    None,
                );
            } else {
                self.store_offline(now_ms, r.origin, &r.request, &r.user);
            }
        }
    }

    // ---- MWI ----

    fn event_ok(&mut self, conn: ConnId, msg: &Message<'_>) -> Option<String> {
        match msg.event() {
            Some(Ok(e)) if e.value.eq_ignore_ascii_case("message-summary") => {
                msg.header("Event").map(|v| v.trim().to_owned())
            }
            _ => {
                let extra = [("Allow-Events", "message-summary".to_owned())];
                self.reply(conn, msg, 489, "Bad Event", None, &extra, None);
                None
            }
        }
    }

    /// The message-summary body for `user`.
    fn summary(&self, now_ms: u64, user: &str) -> Vec<u8> {
        let mut count = self.store.count(user, now_ms);
        if self.mutant(Mutant::SipMwiWrongCount) {
            count += 1;
        }
        let mut summary = MessageSummary::new(count > 0)
            .with_account(self.message_account())
            .with_summary(Summary {
                class: Class::Text,
                new: u32::try_from(count).unwrap_or(u32::MAX),
                old: 0,
                urgent: None,
            });
        let mut pubs: Vec<&Publication> = self
            .publications
            .values()
            .filter(|p| p.user == user && p.expires_ms > now_ms)
            .collect();
        pubs.sort_by_key(|p| p.expires_ms);
        for p in pubs {
            let Ok(parsed) =
                message_summary::parse_with(&p.body, &message_summary::Limits::lenient())
            else {
                continue;
            };
            summary.waiting |= parsed.waiting;
            summary
                .summaries
                .extend(parsed.summaries.iter().filter(|s| s.class != Class::Text));
        }
        summary.to_bytes()
    }

    /// Sends a NOTIFY for subscription `id` with the current state.
    fn notify(&mut self, now_ms: u64, id: u64, terminated: bool) {
        let body = match self.subs.get(&id) {
            Some(s) => self.summary(now_ms, &s.user.clone()),
            None => return,
        };
        let branch = self.branch();
        let via = self.via(&branch);
        let contact = self.contact();
        let Some(s) = self.subs.get_mut(&id) else {
            return;
        };
        s.cseq += 1;
        s.last_body.clone_from(&body);
        let state = if terminated {
            "terminated;reason=timeout".to_owned()
        } else {
            format!(
                "active;expires={}",
                s.expires_ms.saturating_sub(now_ms).div_ceil(1000)
            )
        };
        let to = match &s.remote_tag {
            Some(t) => format!("{};tag={t}", s.remote_uri),
            None => s.remote_uri.clone(),
        };
        let req = Message::request(sip::Method::NOTIFY, s.contact.clone())
            .with_header("Via", via)
            .with_header("Max-Forwards", "70")
            .with_header("From", format!("{};tag={}", s.local_uri, s.local_tag))
            .with_header("To", to)
            .with_header("Call-ID", s.call_id.clone())
            .with_header("CSeq", format!("{} NOTIFY", s.cseq))
            .with_header("Contact", contact)
            .with_header("Event", s.event.clone())
            .with_header("Subscription-State", state)
            .with_header("Content-Type", "application/simple-message-summary")
            .with_body(body);
        let (target, origin) = (s.contact.clone(), s.conn);
        let Some(route) = self.route(&target, Some(origin)) else {
            return;
        };
        self.txns.insert(
            branch,
            ClientTxn {
                conn: route,
                deadline_ms: now_ms + self.config.relay_timeout_ms,
                kind: TxnKind::Notify(id),
            },
        );
        self.send_msg(route, &req);
    }

    /// After `user`'s state may have changed: once none of their deliveries is in flight,
    /// NOTIFY each subscription whose body differs from the last one it got.
    fn settle(&mut self, now_ms: u64, user: &str) {
        if self.in_flight.iter().any(|(u, _)| u == user) {
            return;
        }
        let body = self.summary(now_ms, user);
        if self.mutant(Mutant::SipNoNotifyOnDrain) && self.store.count(user, now_ms) == 0 {
            return;
        }
        let due: Vec<u64> = self
            .subs
            .iter()
            .filter(|(_, s)| s.user == user && s.last_body != body)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.notify(now_ms, id, false);
        }
    }

    // ---- MSRP ----

    fn on_msrp_data(&mut self, now_ms: u64, conn: ConnId) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.buf.is_empty() {
                return;
            }
            let chunk = match take_frame(&mut c.buf, |b| {
                Ok(msrp::parse(b)?.map(|(c, n)| (c.into_owned(), n)))
            }) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return,
                Err(()) => {
                    self.close(conn);
                    return;
                }
            };
            if chunk.is_request() {
                self.on_msrp_request(now_ms, conn, &chunk);
            } else {
                self.on_msrp_response(now_ms, conn, &chunk);
            }
        }
    }

    fn on_msrp_request(&mut self, now_ms: u64, conn: ConnId, chunk: &Chunk<'_>) {
        let method = chunk
            .method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        if method == "REPORT" {
            return;
        }
        let sid = chunk.to_path().and_then(Result::ok).and_then(|p| {
            p.last()
                .and_then(|u| u.session.as_deref().map(str::to_owned))
        });
        let from_path = chunk.header("From-Path").unwrap_or_default().to_owned();
        let to_path = chunk.header("To-Path").unwrap_or_default().to_owned();
        let wants_reply = !matches!(chunk.header("Failure-Report"), Some(v) if v.trim() == "no");
        let reply = |status: u16, comment: &str| {
            Chunk::response(
                chunk.transaction.to_string(),
                status,
                Some(comment.to_owned().into()),
            )
            .with_header("To-Path", from_path.clone())
            .with_header("From-Path", to_path.clone())
        };
        let known = sid.as_ref().filter(|s| self.sessions.contains_key(*s));
        let Some(sid) = known.cloned() else {
            self.send(conn, reply(481, "Session Does Not Exist").to_bytes());
            return;
        };
        if method != "SEND" {
            self.send(conn, reply(501, "Not Implemented").to_bytes());
            return;
        }
        let bound = self.sessions.get(&sid).and_then(|s| s.msrp_conn);
        if bound.is_some_and(|c| c != conn) {
            self.send(conn, reply(403, "Session Bound Elsewhere").to_bytes());
            return;
        }
        if wants_reply {
            self.send(conn, reply(200, "OK").to_bytes());
        }
        if bound.is_none() {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.session = Some(sid.clone());
            }
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.msrp_conn = Some(conn);
                if !from_path.is_empty() {
                    s.client_path = from_path;
                }
            }
            self.deliver(now_ms, &sid);
        }
    }

    /// SENDs every stored message of the session's user over its MSRP connection.
    fn deliver(&mut self, now_ms: u64, sid: &str) {
        let Some(s) = self.sessions.get(sid) else {
            return;
        };
        let (user, conn) = (s.user.clone(), s.msrp_conn);
        let Some(conn) = conn else {
            return;
        };
        let Ok(msgs) = self.store.list(&user, now_ms) else {
            return;
        };
        for m in msgs {
            if self.in_flight.contains(&(user.clone(), m.id)) {
                continue;
            }
            let Some(s) = self.sessions.get(sid) else {
                return;
            };
            let (content_type, body) = if s.cpim {
                ("message/cpim".to_owned(), cpim(&m))
            } else {
                (
                    m.content_type
                        .clone()
                        .unwrap_or_else(|| "text/plain".to_owned()),
                    m.body.clone(),
                )
            };
            let (to_path, from_path) = (s.client_path.clone(), s.our_path.clone());
            let mut tid = self.rng.hex(8);
            while !msrp::can_carry(&tid, &body) {
                tid = self.rng.hex(8);
            }
            let n = body.len();
            let chunk = Chunk::request(tid.clone(), msrp::Method::SEND)
                .with_header("To-Path", to_path)
                .with_header("From-Path", from_path)
                .with_header("Message-ID", format!("imspec{}", m.id))
                .with_header("Byte-Range", format!("1-{n}/{n}"))
                .with_header("Content-Type", content_type)
                .with_body(body);
            self.in_flight.insert((user.clone(), m.id));
            if let Some(s) = self.sessions.get_mut(sid) {
                s.pending.insert(tid, m.id);
            }
            self.send(conn, chunk.to_bytes());
        }
    }

    fn on_msrp_response(&mut self, now_ms: u64, conn: ConnId, chunk: &Chunk<'_>) {
        let sid = self.conns.get(&conn).and_then(|c| c.session.clone());
        let Some(s) = sid.and_then(|sid| self.sessions.get_mut(&sid)) else {
            return;
        };
        let Some(id) = s.pending.remove(chunk.transaction.as_ref()) else {
            return;
        };
        let user = s.user.clone();
        self.in_flight.remove(&(user.clone(), id));
        if chunk.status() == Some(200) && !self.mutant(Mutant::SipMsrpNoDrain) {
            let _ = self.store.remove(&user, id);
        }
        self.settle(now_ms, &user);
    }

    fn unbind_session(&mut self, now_ms: u64, sid: &str) {
        let Some(s) = self.sessions.get_mut(sid) else {
            return;
        };
        s.msrp_conn = None;
        let user = s.user.clone();
        let ids: Vec<u64> = s.pending.drain().map(|(_, id)| id).collect();
        for id in ids {
            self.in_flight.remove(&(user.clone(), id));
        }
        self.settle(now_ms, &user);
    }

    // ---- routing and building ----

    /// The connection that reaches `contact` (see the module docs), opening one if needed.
    fn route(&mut self, contact: &str, origin: Option<ConnId>) -> Option<ConnId> {
        let uri = Uri::parse(contact)?;
        let addr = uri.socket_addr();
        if let Some(o) = origin
            && let Some(c) = self.conns.get(&o)
            && c.service == Service::Sip
            && (c.peer.is_none() || uri.has_param("ob") || (addr.is_some() && addr == c.peer))
        {
            return Some(o);
        }
        if uri
            .param("transport")
            .is_some_and(|t| !t.eq_ignore_ascii_case("tcp"))
        {
            return None;
        }
        let addr = addr?;
        if let Some((id, _)) = self
            .conns
            .iter()
            .find(|(_, c)| c.service == Service::Sip && c.peer == Some(addr))
        {
            return Some(*id);
        }
        let id = self.next_out;
        self.next_out += 1;
        self.conns.insert(
            id,
            Conn {
                service: Service::Sip,
                buf: Vec::new(),
                peer: Some(addr),
                session: None,
            },
        );
        self.connects.push_back((id, addr));
        Some(id)
    }

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

    fn is_ours(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
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
        Uri::parse(uri)
            .is_some_and(|u| self.is_ours(u.host) && (u.port.is_none() || u.port == port))
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

/// The headers every request needs (RFC 3261 §8.1.1), or what is wrong.
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
        uri: msg.uri().and_then(Uri::parse),
        from,
        to,
        call_id,
    })
}

/// Whether `msg` carries an RFC 3994 status message (`application/im-iscomposing+xml`), not
/// a message for its user.
fn is_status_message(msg: &Message<'_>) -> bool {
    msg.header("Content-Type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .eq_ignore_ascii_case("application/im-iscomposing+xml")
    })
}

/// A proxy's copy of `msg` towards `contact`: new Request-URI, our Via on top,
/// `Max-Forwards` decremented (70 if absent), and the first Route value taken off when it
/// names us (`ours`, RFC 3261 §16.4: "If the first value in the Route header field
/// indicates this proxy, the proxy MUST remove that value from the request").
fn forward(
    msg: &Message<'_>,
    contact: &str,
    via: &str,
    ours: &dyn Fn(&str) -> bool,
) -> Message<'static> {
    let mut out = Message::request(
        msg.method()
            .cloned()
            .unwrap_or(sip::Method::MESSAGE)
            .into_owned(),
        contact.to_owned(),
    );
    out.headers.push("Via", via.to_owned());
    let mut max_forwards = false;
    let mut first_route = true;
    for h in msg.headers.iter() {
        if first_route && sip::header::same_name(&h.name, "Route") {
            first_route = false;
            if let Ok(values) = sip::header::split_list(&h.value)
                && let Some((first, rest)) = values.split_first()
                && NameAddr::parse(first).is_ok_and(|a| ours(&a.uri))
            {
                if !rest.is_empty() {
                    out.headers.push(h.name.to_string(), rest.join(", "));
                }
                continue;
            }
        }
        if sip::header::full_name(&h.name).eq_ignore_ascii_case("Max-Forwards") {
            let n = sip::header::delta_seconds(&h.value).unwrap_or(70);
            out.headers
                .push("Max-Forwards", n.saturating_sub(1).to_string());
            max_forwards = true;
        } else if !sip::header::same_name(&h.name, "Content-Length") {
            out.headers.push(h.name.to_string(), h.value.to_string());
        }
    }
    if !max_forwards {
        out.headers.push("Max-Forwards", "69");
    }
    out.with_body(msg.body.to_vec())
}

/// `msg` without its top Via element (ours).
fn pop_via(msg: &Message<'_>) -> Message<'static> {
    let mut out = msg.clone().into_owned();
    let Some(pos) = out
        .headers
        .0
        .iter()
        .position(|h| sip::header::same_name(&h.name, "Via"))
    else {
        return out;
    };
    let rest = out
        .headers
        .0
        .get(pos)
        .and_then(|h| sip::header::split_list(&h.value).ok())
        .map(|v| v.get(1..).unwrap_or_default().join(", "))
        .unwrap_or_default();
    if rest.is_empty() {
        out.headers.0.remove(pos);
    } else if let Some(h) = out.headers.0.get_mut(pos) {
        h.value = rest.into();
    }
    out
}

/// A From/To value without its `tag` parameter, in canonical form.
fn without_tag(value: &str) -> String {
    match NameAddr::parse(value) {
        Ok(mut a) => {
            a.params.retain(|p| !p.name.eq_ignore_ascii_case("tag"));
            a.to_string()
        }
        Err(_) => value.trim().to_owned(),
    }
}

/// A stored message as `message/cpim` (RFC 3862): the sender, the recipient, the arrival
/// time, then the original content.
fn cpim(m: &Offline) -> Vec<u8> {
    let mut out = format!(
        "From: {}\r\nTo: {}\r\nDateTime: {}\r\n\r\nContent-Type: {}\r\n\r\n",
        m.from,
        m.to,
        format_iso8601_ms(m.arrival_ms),
        m.content_type.as_deref().unwrap_or("text/plain"),
    )
    .into_bytes();
    out.extend_from_slice(&m.body);
    out
}

/// `host:port` → (`host`, `port`); IPv6 references keep their brackets.
fn split_host_port(addr: &str) -> (&str, &str) {
    match addr.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') && (!h.contains(':') || h.ends_with(']')) => (h, p),
        _ => (addr, ""),
    }
}

/// The parts of a `sip:` URI the server routes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Uri<'a> {
    user: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    params: &'a str,
}

impl<'a> Uri<'a> {
    /// `sip:[user[:password]@]host[:port][;params][?headers]`; `None` for other schemes.
    fn parse(uri: &'a str) -> Option<Self> {
        let rest = uri
            .get(..4)
            .filter(|s| s.eq_ignore_ascii_case("sip:"))
            .and_then(|_| uri.get(4..))?;
        let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
        let (user, hostpart) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u.split_once(':').map_or(u, |(u, _)| u)), h),
            None => (None, rest),
        };
        let (hostport, params) = hostpart.split_once(';').unwrap_or((hostpart, ""));
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, tail) = v6.split_once(']')?;
            let port = match tail.strip_prefix(':') {
                Some(p) => Some(p.parse().ok()?),
                None if tail.is_empty() => None,
                None => return None,
            };
            (hostport.get(..h.len() + 2)?, port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p.parse().ok()?)),
                None => (hostport, None),
            }
        };
        if host.is_empty() || user == Some("") {
            return None;
        }
        Some(Self {
            user,
            host,
            port,
            params,
        })
    }

    fn param(&self, name: &str) -> Option<&'a str> {
        self.params.split(';').find_map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }

    fn has_param(&self, name: &str) -> bool {
        self.param(name).is_some()
    }

    /// The address of an IP-literal host (port 5060 if none); host names are not resolved.
    fn socket_addr(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        Some(SocketAddr::new(ip, self.port.unwrap_or(5060)))
    }
}
