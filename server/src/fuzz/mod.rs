//! State-machine fuzzing of the reference server's sans-IO hubs, in process (the bodies of the
//! `server_fetion`, `server_msnp` and `server_sip` fuzz targets, and of their regression
//! tests).
//!
//! The fuzz input is a small program: each operation is one byte (its value modulo 8 picks
//! the operation) followed by its arguments.
//!
//! | op | meaning |
//! | --- | --- |
//! | 0 | connect a new connection to one of the protocol's services |
//! | 1 | the client closes connection `j` |
//! | 2, 3, 4 | send frame kind `k` on connection `j`: one of the protocol's requests (login steps done right, using the nonce, credential or registration the server gave), a reply to the last server request, or a request with odd fields |
//! | 5 | the same, delivered in two pieces cut at a chosen byte |
//! | 6 | send up to 255 raw bytes on connection `j` |
//! | 7 | advance the clock (1 ms, 1 s, past the relay timeout, past the credential lifetime) |
//!
//! After every event the driver drains the hub's outputs and checks:
//!
//! * nothing panics;
//! * every output decodes with the codec (strict limits) into whole frames, and the bodies the
//!   codec types (Fetion `<events>` and INVITE sessions, MSNP layered pushes and `MSGR\…`
//!   documents) decode too;
//! * every response pairs with exactly one request the connection sent and the server has
//!   not answered yet (Fetion: the same `I:` and `Q:`; MSNP: the same TrID), and once every
//!   timer has fired, each request on a connection that is still open has been answered. A
//!   connection on which the client sent bytes the codec rejects is excused from pairing (the
//!   server's resynchronisation is its own business), not from the other checks;
//! * nothing is sent to a connection after it closed; MSNP message ids grow strictly.
//!
//! A protocol plugs in with a [`Model`]: its services, how to cut client and server frames,
//! the frames it can send and what it learns from the server's output.

use std::collections::HashMap;

use imspec_codec::msnp::msgr;
use imspec_codec::msnp::payload::{Layered, Payload};
use imspec_codec::{Status, msnp, sipc};

use imspec_codec::sipc::digest::{FETION_DOMAIN, fetion_digest};

use crate::accounts::DEFAULT_PASSWORD;
use crate::store::Store;
use crate::{ConnId, Event, Output, Service};

/// Runs the Fetion hub (main and chat server) over the program in `data`.
pub fn fetion(data: &[u8]) -> Result<(), String> {
    run::<FetionModel>(data)
}

/// Runs the MSNP hub over the program in `data`.
pub fn msnp(data: &[u8]) -> Result<(), String> {
    run::<MsnpModel>(data)
}

/// Runs the LeanCloud hub over the program in `data`. Its hub takes whole WebSocket messages
/// rather than a byte stream, so it has its own driver and program format:
/// [`crate::leancloud::fuzz`].
pub fn leancloud(data: &[u8]) -> Result<(), String> {
    crate::leancloud::fuzz::run(data)
}

/// Runs the SIP hub (SIP and MSRP connections) over the program in `data`; the model is in
/// [`sip_model`].
pub fn sip(data: &[u8]) -> Result<(), String> {
    run::<sip_model::SipModel>(data)
}

pub mod sip_model;

/// Most operations decoded from one input.
pub const MAX_OPS: usize = 256;
/// Most connections one input opens.
pub const MAX_CONNS: usize = 8;
/// The clock at the start of every run (Unix ms, 2015-04-29).
const START_MS: u64 = 1_430_300_000_000;

/// A hub as the driver sees it.
pub trait SansIo {
    /// Feeds one event.
    fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>);
    /// The next output.
    fn poll_output(&mut self) -> Option<Output>;
    /// The next timer.
    fn poll_timeout(&self) -> Option<u64>;
    /// Fires due timers.
    fn handle_timeout(&mut self, now_ms: u64);
}

impl SansIo for crate::fetion::Hub {
    fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>) {
        Self::handle(self, now_ms, conn, event);
    }
    fn poll_output(&mut self) -> Option<Output> {
        Self::poll_output(self)
    }
    fn poll_timeout(&self) -> Option<u64> {
        Self::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now_ms: u64) {
        Self::handle_timeout(self, now_ms);
    }
}

impl SansIo for crate::msnp::Hub {
    fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>) {
        Self::handle(self, now_ms, conn, event);
    }
    fn poll_output(&mut self) -> Option<Output> {
        Self::poll_output(self)
    }
    fn poll_timeout(&self) -> Option<u64> {
        Self::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now_ms: u64) {
        Self::handle_timeout(self, now_ms);
    }
}

/// One protocol's part of the driver.
pub trait Model: Sized {
    /// The hub under test.
    type Hub: SansIo;
    /// The services a connection may open.
    const SERVICES: &'static [Service];
    /// Timer values the clock operation chooses from (ms to add).
    const STEPS_MS: &'static [u64];
    /// A fresh model and hub.
    fn start() -> Result<(Self, Self::Hub), String>;
    /// Cuts one client frame (what the server will see) from `buf`.
    fn cut_client(buf: &[u8]) -> Cut;
    /// Cuts one server frame from `buf`.
    fn cut_server(buf: &[u8]) -> Cut;
    /// Frame kind `kind` for connection `conn` (to `service`) with arguments `args`, or `None`
    /// if this kind cannot be sent now. May read a body from `input`.
    fn frame(
        &mut self,
        kind: u8,
        args: Args,
        conn: ConnId,
        service: Service,
        input: &mut Input<'_>,
    ) -> Option<Vec<u8>>;
    /// Learns from, and checks, one whole frame the server sent on `conn`.
    fn observe(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String>;
}

/// One frame cut from a byte buffer.
#[derive(Debug)]
pub enum Cut {
    /// A whole frame of `len` bytes.
    Frame {
        /// Its length.
        len: usize,
        /// How it takes part in pairing.
        role: Role,
        /// Its first line, for messages.
        summary: String,
    },
    /// The buffer ends inside a frame.
    Incomplete,
    /// The codec rejects the buffer.
    Error(String),
}

/// How a frame takes part in request/response pairing.
#[derive(Debug, PartialEq, Eq)]
pub enum Role {
    /// A request that must get exactly one reply, paired by this key.
    Request(String),
    /// A request that gets at most one reply (MSNP `ACK`: answered only when refused).
    Optional(String),
    /// A reply, paired by this key.
    Reply(String),
    /// Neither (a push, or a client's response to a server request).
    Other,
    /// A request that cannot be paired (an MSNP command without TrID): pairing is off for the
    /// connection.
    Unpairable,
}

/// The fuzz input, read front to back; reading past the end gives nothing.
#[derive(Debug)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// The input `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte.
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    /// The next byte modulo `n` (0 once the input is used up).
    pub fn below(&mut self, n: usize) -> usize {
        self.byte().map_or(0, |b| usize::from(b) % n.max(1))
    }

    /// The lowest bit of the next byte.
    pub fn flag(&mut self) -> bool {
        self.byte().is_some_and(|b| b & 1 == 1)
    }

    /// A length byte, then up to that many bytes (at most `max`).
    pub fn chunk(&mut self, max: usize) -> &'a [u8] {
        let n = self
            .byte()
            .map_or(0, usize::from)
            .min(max)
            .min(self.data.len());
        let (chunk, rest) = self.data.split_at(n);
        self.data = rest;
        chunk
    }

    /// One of `items`, chosen by the next byte.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.below(items.len())).copied()
    }
}

/// The four argument bytes of a frame operation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Args {
    /// Which account (or which item of a list).
    pub who: u8,
    /// Bit flags: 1 = version 4 / wrong credential, 2 = corrupt, 4 = omit, 8 = extra.
    pub flags: u8,
    /// Which peer account or target.
    pub other: u8,
    /// A kind-specific choice.
    pub choice: u8,
}

impl Args {
    fn read(input: &mut Input<'_>) -> Self {
        let mut b = || input.byte().unwrap_or(0);
        Self {
            who: b(),
            flags: b(),
            other: b(),
            choice: b(),
        }
    }

    /// Whether flag bit `bit` is set.
    pub fn flag(self, bit: u8) -> bool {
        self.flags & bit != 0
    }

    /// `items[byte % len]`.
    pub fn pick<T: Copy>(items: &[T], byte: u8) -> Option<T> {
        items.get(usize::from(byte) % items.len().max(1)).copied()
    }
}

#[derive(Debug)]
struct Conn {
    id: ConnId,
    service: Service,
    open: bool,
    /// Client bytes not yet cut into frames (mirrors the server's framer).
    sent: Vec<u8>,
    /// Requests awaiting their reply: (key, optional, first line).
    pending: Vec<(String, bool, String)>,
    /// The client sent something pairing cannot follow.
    unpaired: bool,
}

struct Driver<M: Model> {
    model: M,
    hub: M::Hub,
    now: u64,
    conns: Vec<Conn>,
    next_id: ConnId,
    trace: Vec<String>,
}

/// Runs model `M` over the program in `data`.
pub fn run<M: Model>(data: &[u8]) -> Result<(), String> {
    run_traced::<M>(data).map(|_| ())
}

/// [`run`], returning the first line of every frame the server sent, as `conn: line`.
pub fn run_traced<M: Model>(data: &[u8]) -> Result<Vec<String>, String> {
    let (model, hub) = M::start()?;
    let mut d = Driver {
        model,
        hub,
        now: START_MS,
        conns: Vec::new(),
        next_id: 1,
        trace: Vec::new(),
    };
    let mut input = Input::new(data);
    for _ in 0..MAX_OPS {
        let Some(op) = input.byte() else { break };
        match op % 8 {
            0 => d.connect(&mut input)?,
            1 => {
                if let Some(j) = d.pick_open(&mut input) {
                    d.conns[j].open = false;
                    let id = d.conns[j].id;
                    d.hub.handle(d.now, id, Event::Closed);
                    d.drain()?;
                }
            }
            2..=5 => {
                let Some(j) = d.pick_open(&mut input) else {
                    continue;
                };
                let kind = input.byte().unwrap_or(0);
                let args = Args::read(&mut input);
                let (id, service) = (d.conns[j].id, d.conns[j].service);
                let Some(bytes) = d.model.frame(kind, args, id, service, &mut input) else {
                    continue;
                };
                if op % 8 == 5 {
                    let cut = input.below(bytes.len() + 1);
                    let (a, b) = bytes.split_at(cut);
                    d.send(j, a)?;
                    if d.conns[j].open {
                        d.send(j, b)?;
                    }
                } else {
                    d.send(j, &bytes)?;
                }
            }
            6 => {
                if let Some(j) = d.pick_open(&mut input) {
                    let raw = input.chunk(255);
                    d.send(j, raw)?;
                }
            }
            _ => {
                let step = input.pick(M::STEPS_MS).unwrap_or(1);
                d.now += step;
                d.hub.handle_timeout(d.now);
                d.drain()?;
            }
        }
    }
    // Let every timer fire, then every request on an open connection must have its reply.
    for _ in 0..8 {
        let Some(t) = d.hub.poll_timeout() else { break };
        d.now = d.now.max(t) + 1;
        d.hub.handle_timeout(d.now);
        d.drain()?;
    }
    for c in d.conns.iter().filter(|c| c.open && !c.unpaired) {
        if let Some((_, _, what)) = c.pending.iter().find(|(_, optional, _)| !optional) {
            return Err(format!(
                "connection {}: no reply to `{what}` (pending: {})",
                c.id,
                c.pending.len()
            ));
        }
    }
    Ok(d.trace)
}

impl<M: Model> Driver<M> {
    fn connect(&mut self, input: &mut Input<'_>) -> Result<(), String> {
        let service = input.pick(M::SERVICES).unwrap_or(Service::Msnp);
        if self.conns.len() >= MAX_CONNS {
            return Ok(());
        }
        let id = self.next_id;
        self.next_id += 1;
        self.conns.push(Conn {
            id,
            service,
            open: true,
            sent: Vec::new(),
            pending: Vec::new(),
            unpaired: false,
        });
        self.hub.handle(self.now, id, Event::Connected(service));
        self.drain()
    }

    fn pick_open(&self, input: &mut Input<'_>) -> Option<usize> {
        let open: Vec<usize> = (0..self.conns.len())
            .filter(|&j| self.conns[j].open)
            .collect();
        let pick = input.below(open.len());
        open.get(pick).copied()
    }

    /// Delivers client bytes: the mirror framer records the requests the server will see,
    /// then the hub gets the bytes.
    fn send(&mut self, j: usize, bytes: &[u8]) -> Result<(), String> {
        let c = &mut self.conns[j];
        c.sent.extend_from_slice(bytes);
        loop {
            match M::cut_client(&c.sent) {
                Cut::Frame { len, role, summary } => {
                    match role {
                        Role::Request(k) => c.pending.push((k, false, summary)),
                        Role::Optional(k) => c.pending.push((k, true, summary)),
                        Role::Unpairable => c.unpaired = true,
                        Role::Reply(_) | Role::Other => {}
                    }
                    c.sent.drain(..len.min(c.sent.len()));
                }
                Cut::Incomplete => break,
                Cut::Error(_) => {
                    c.unpaired = true;
                    c.sent.clear();
                    break;
                }
            }
        }
        let id = c.id;
        self.hub.handle(self.now, id, Event::Data(bytes));
        self.drain()
    }

    fn drain(&mut self) -> Result<(), String> {
        while let Some(out) = self.hub.poll_output() {
            match out {
                Output::Send { conn, bytes } => self.received(conn, &bytes)?,
                Output::Close { conn } => {
                    let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
                        return Err(format!("close of unknown connection {conn}"));
                    };
                    if c.open {
                        c.open = false;
                        // What the driver does when the hub asks for a close.
                        self.hub.handle(self.now, conn, Event::Closed);
                    }
                }
            }
        }
        Ok(())
    }

    fn received(&mut self, conn: ConnId, bytes: &[u8]) -> Result<(), String> {
        let Some(j) = self.conns.iter().position(|c| c.id == conn) else {
            return Err(format!("output to unknown connection {conn}"));
        };
        if !self.conns[j].open {
            return Err(format!(
                "output to closed connection {conn}: {}",
                imspec_codec::text::first_line(bytes)
            ));
        }
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let (len, role, summary) = match M::cut_server(rest) {
                Cut::Frame { len, role, summary } => (len, role, summary),
                Cut::Incomplete => {
                    return Err(format!(
                        "connection {conn}: output ends inside a frame: {}",
                        imspec_codec::text::escape(rest)
                    ));
                }
                Cut::Error(e) => {
                    return Err(format!(
                        "connection {conn}: the codec rejects the output at byte {at}: {e}: {}",
                        imspec_codec::text::escape(rest)
                    ));
                }
            };
            if let Role::Reply(key) = &role {
                let c = &mut self.conns[j];
                match c.pending.iter().position(|(k, _, _)| k == key) {
                    Some(p) => {
                        c.pending.remove(p);
                    }
                    None if c.unpaired => {}
                    None => {
                        return Err(format!(
                            "connection {conn}: reply `{summary}` answers no pending request"
                        ));
                    }
                }
            }
            self.model.observe(conn, &rest[..len])?;
            if self.trace.len() < 1000 {
                self.trace.push(format!("{conn}: {summary}"));
            }
            at += len;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Fetion

/// Account ids the Fetion model logs in with.
const SIDS: &[&str] = &["100000001", "100000002", "100000003"];

/// The Fetion main and chat server.
#[derive(Debug, Default)]
pub struct FetionModel {
    conns: HashMap<ConnId, FetionConn>,
    /// Chat credentials the server issued: (sid, credential).
    credentials: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct FetionConn {
    sid: Option<String>,
    nonce: Option<String>,
    /// `I:` and `Q:` of the last request the server sent here.
    last_request: Option<(String, String)>,
    next: u32,
}

impl Model for FetionModel {
    type Hub = crate::fetion::Hub;
    const SERVICES: &'static [Service] = &[Service::Fetion, Service::FetionChat];
    const STEPS_MS: &'static [u64] = &[
        1,
        1000,
        crate::fetion::RELAY_TIMEOUT_MS + 1,
        crate::fetion::CREDENTIAL_TTL_MS + 1,
    ];

    fn start() -> Result<(Self, Self::Hub), String> {
        let config = crate::fetion::Config::new("127.0.0.1:8081");
        Ok((Self::default(), crate::fetion::Hub::new(config)))
    }

    fn cut_client(buf: &[u8]) -> Cut {
        cut_sipc(buf)
    }

    fn cut_server(buf: &[u8]) -> Cut {
        cut_sipc(buf)
    }

    fn frame(
        &mut self,
        kind: u8,
        args: Args,
        conn: ConnId,
        _service: Service,
        input: &mut Input<'_>,
    ) -> Option<Vec<u8>> {
        let credentials = self.credentials.clone();
        let c = self.conns.entry(conn).or_default();
        c.next += 1;
        let n = c.next;
        let version = if args.flag(1) {
            sipc::Version::V4
        } else {
            sipc::Version::V2
        };
        let sid = c
            .sid
            .clone()
            .unwrap_or_else(|| Args::pick(SIDS, args.who).unwrap_or("100000001").to_owned());
        let request = |method: sipc::Method<'static>, q: &str| {
            sipc::Message::request(method, "fetion.com.cn", version)
                .with_header("F", sid.clone())
                .with_header("I", n.to_string())
                .with_header("Q", format!("{n} {q}"))
        };
        let msg = match kind % 12 {
            0 => {
                c.sid = Some(sid.clone());
                request(sipc::Method::REGISTER, "R")
            }
            1 => {
                c.sid = Some(sid.clone());
                let nonce = c.nonce.clone().unwrap_or_default();
                let mut response =
                    fetion_digest(&sid, FETION_DOMAIN, DEFAULT_PASSWORD, &nonce, "c");
                if args.flag(2) {
                    response.replace_range(..1, "0");
                }
                request(sipc::Method::REGISTER, "R")
                    .with_header("A", format!("Digest response=\"{response}\",cnonce=\"c\""))
            }
            2 => request(sipc::Method::REGISTER, "R").with_header("X", "0"),
            3 => request(sipc::Method::SERVICE, "S").with_header("N", "StartChat"),
            4 => {
                let event = Args::pick(
                    &["KeepAlive", "SetPresence", "InviteBuddy", "Nope"],
                    args.choice,
                )?;
                request(sipc::Method::SERVICE, "S").with_header("N", event)
            }
            5 => {
                // Join the chat server with a credential issued to this sid (or any).
                let mut cred = credentials
                    .iter()
                    .rev()
                    .find(|(s, _)| *s == sid)
                    .or_else(|| credentials.last())
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default();
                if args.flag(2) {
                    cred.push('9');
                }
                c.sid = Some(sid.clone());
                request(sipc::Method::REGISTER, "R")
                    .with_header("A", format!("TICKS auth=\"{cred}\""))
                    .with_header("K", "text/plain")
            }
            6 => {
                let other = Args::pick(SIDS, args.other)?;
                let body = format!(
                    "<args><contacts><contact uri=\"{}\" /></contacts></args>",
                    crate::fetion::uri(other)
                );
                request(sipc::Method::SERVICE, "S")
                    .with_header("N", "InviteBuddy")
                    .with_body(body.into_bytes())
            }
            7 => request(sipc::Method::MESSAGE, "M")
                .with_header("C", "text/plain")
                .with_body(input.chunk(64).to_vec()),
            8 => request(sipc::Method::BYE, "B"),
            9 => {
                // The client's answer to the last request the server sent here.
                let (i, q) = c.last_request.clone()?;
                sipc::Message::response(version, 200, "OK")
                    .with_header("I", i)
                    .with_header("Q", q)
            }
            10 => {
                // Odd requests: no I or no Q, unknown methods, a long Call-ID.
                let method = Args::pick(&["O", "IN", "SUB", "XYZ", "M"], args.other)?;
                let method = sipc::Method::new(method)?;
                let mut m = sipc::Message::request(method, "fetion.com.cn", version)
                    .with_header("F", sid.clone());
                match args.choice % 3 {
                    0 => m = m.with_header("I", n.to_string()),
                    1 => m = m.with_header("Q", format!("{n} X")),
                    _ => {
                        m = m
                            .with_header("I", "9".repeat(usize::from(args.who % 64) + 1))
                            .with_header("Q", format!("{n} X"));
                    }
                }
                m
            }
            _ => request(sipc::Method::SERVICE, "S").with_header("N", "KeepAlive"),
        };
        Some(msg.to_bytes())
    }

    fn observe(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String> {
        let Ok(Status::Complete((msg, _))) = sipc::parse(frame) else {
            return Err("internal: observed frame does not parse".into());
        };
        let c = self.conns.entry(conn).or_default();
        if let Some(w) = msg.header("W")
            && let Some(nonce) = quoted(w, "nonce=\"")
        {
            c.nonce = Some(nonce);
        }
        if let Some(cred) = msg.header("A").and_then(|a| quoted(a, "credential=\"")) {
            // A StartChat 200 is for this connection's sid; an INVITE names its receiver.
            let sid = match msg.start {
                sipc::StartLine::Request { ref target, .. } => Some(target.to_string()),
                sipc::StartLine::Response { .. } => c.sid.clone(),
            };
            if let Some(sid) = sid {
                self.credentials.push((sid, cred));
                if self.credentials.len() > 16 {
                    self.credentials.remove(0);
                }
            }
        }
        if let Some(method) = msg.method() {
            c.last_request = Some((
                msg.header("I").unwrap_or_default().to_owned(),
                msg.header("Q").unwrap_or_default().to_owned(),
            ));
            match method.as_str() {
                "BN" => {
                    msg.events()
                        .map_err(|e| format!("BN body does not decode: {e}"))?;
                }
                "I" => {
                    msg.session()
                        .map_err(|e| format!("INVITE body does not decode: {e}"))?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn cut_sipc(buf: &[u8]) -> Cut {
    match sipc::parse(buf) {
        Ok(Status::Complete((msg, len))) => {
            let key = format!(
                "{:?} {:?}",
                msg.header("I").unwrap_or_default(),
                msg.header("Q").unwrap_or_default()
            );
            let role = if msg.is_request() {
                Role::Request(key)
            } else {
                Role::Reply(key)
            };
            Cut::Frame {
                len,
                role,
                summary: imspec_codec::text::first_line(&buf[..len]),
            }
        }
        Ok(Status::Incomplete(_)) => Cut::Incomplete,
        Err(e) => Cut::Error(e.to_string()),
    }
}

/// The text between `start` and the next `"` in `s`.
fn quoted(s: &str, start: &str) -> Option<String> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

// ---------------------------------------------------------------------------------------
// MSNP

/// Account names the MSNP model logs in with.
const NAMES: &[&str] = &["alice", "bob", "carol"];
/// The group thread the MSNP model uses.
const THREAD: &str = "19:fuzz@thread.skype";

/// The MSNP notification server.
#[derive(Debug, Default)]
pub struct MsnpModel {
    conns: HashMap<ConnId, MsnpConn>,
    last_message_id: u64,
}

#[derive(Debug, Default)]
struct MsnpConn {
    trid: u32,
    name: Option<String>,
    registration: Option<String>,
    sync: Option<String>,
}

impl Model for MsnpModel {
    type Hub = crate::msnp::Hub;
    const SERVICES: &'static [Service] = &[Service::Msnp];
    const STEPS_MS: &'static [u64] = &[1, 1000, 60_000];

    fn start() -> Result<(Self, Self::Hub), String> {
        // One in-memory database per thread, emptied per input: creating a redb database
        // (file or memory) per input dominated this target's cost.
        let store = Store::reused_in_memory().map_err(|e| format!("store: {e}"))?;
        let hub = crate::msnp::Hub::new(crate::msnp::Config::default(), store);
        Ok((Self::default(), hub))
    }

    fn cut_client(buf: &[u8]) -> Cut {
        match msnp::parse(buf) {
            Ok(Status::Complete((cmd, len))) => {
                let role = match cmd.trid {
                    None | Some(0) => Role::Unpairable,
                    Some(t) if cmd.verb == "ACK" => Role::Optional(t.to_string()),
                    Some(t) => Role::Request(t.to_string()),
                };
                Cut::Frame {
                    len,
                    role,
                    summary: imspec_codec::text::first_line(&buf[..len]),
                }
            }
            Ok(Status::Incomplete(_)) => Cut::Incomplete,
            Err(e) => Cut::Error(e.to_string()),
        }
    }

    fn cut_server(buf: &[u8]) -> Cut {
        match msnp::parse(buf) {
            Ok(Status::Complete((cmd, len))) => {
                let role = match cmd.trid {
                    // TrID 0 marks pushes (`SDG 0 MSGR`, `NFY 0 MSGR\PUT`).
                    None | Some(0) => Role::Other,
                    Some(t) => Role::Reply(t.to_string()),
                };
                Cut::Frame {
                    len,
                    role,
                    summary: imspec_codec::text::first_line(&buf[..len]),
                }
            }
            Ok(Status::Incomplete(_)) => Cut::Incomplete,
            Err(e) => Cut::Error(e.to_string()),
        }
    }

    fn frame(
        &mut self,
        kind: u8,
        args: Args,
        conn: ConnId,
        _service: Service,
        input: &mut Input<'_>,
    ) -> Option<Vec<u8>> {
        let c = self.conns.entry(conn).or_default();
        c.trid += 1;
        let trid = c.trid;
        let me = c
            .name
            .clone()
            .unwrap_or_else(|| Args::pick(NAMES, args.who).unwrap_or("alice").to_owned());
        let other = Args::pick(NAMES, args.other)?;
        let mut outer = String::new();
        if let Some(reg) = &c.registration
            && !args.flag(4)
        {
            outer = format!("Registration: {reg}\r\n");
        }
        let layered = |service: &str, message_type: &str, to: &str, body: &[u8]| {
            let mut l = Layered::default();
            l.routing.push("Routing", "1.0");
            l.routing.push("To", to.to_owned());
            l.routing.push(
                "From",
                format!("8:{me};epid={{00000000-0000-0000-0000-000000000001}}"),
            );
            l.reliability.push("Reliability", "1.0");
            l.service.push(service.to_owned(), "1.0");
            l.service.push("Message-Type", message_type.to_owned());
            l.service.push("Content-Type", "Text/plain; charset=UTF-8");
            l.set_body(body.to_vec());
            l.to_bytes()
        };
        let (verb, target, body): (&str, &str, Vec<u8>) = match kind % 13 {
            0 => ("CNT", "CON", b"<connect><ver>2</ver></connect>".to_vec()),
            1 => {
                c.name = Some(me.clone());
                let ticket = if args.flag(2) { "t=wrong" } else { "t=imspec" };
                let body = format!(
                    "<user><ssl-compact-ticket>{ticket}</ssl-compact-ticket><id>{me}</id></user>"
                );
                ("ATH", "CON\\USER", body.into_bytes())
            }
            2 => (
                "BND",
                "CON\\MSGR",
                b"<msgr><ver>2</ver><epid>{00000000-0000-0000-0000-000000000001}</epid></msgr>"
                    .to_vec(),
            ),
            3 => (
                "PUT",
                "MSGR\\CONTACTS",
                format!("<ml><skp><c n=\"{other}\" t=\"8\" /></skp></ml>").into_bytes(),
            ),
            4 => (
                "PUT",
                "MSGR\\PRESENCE",
                layered("Publication", "Presence", &format!("8:{me}"), b"<user />"),
            ),
            5 => (
                "PUT",
                "MSGR\\THREAD",
                format!(
                    "<thread><id>{THREAD}</id><members><member><mri>8:{other}</mri></member></members></thread>"
                )
                .into_bytes(),
            ),
            6 => {
                let to = if args.flag(1) {
                    THREAD.to_owned()
                } else {
                    format!("8:{other}")
                };
                let message_type = Args::pick(&["Text", "Control/Typing", "RichText"], args.choice)?;
                let text = input.chunk(64).to_vec();
                ("SDG", "MSGR", layered("Messaging", message_type, &to, &text))
            }
            7 => {
                let page = args.choice % 4;
                let body = format!(
                    "<recentconversations><start>0</start><pagesize>{page}</pagesize></recentconversations>"
                );
                ("GET", "MSGR\\RECENTCONVERSATIONS", body.into_bytes())
            }
            8 => {
                let page = args.choice % 4;
                let id = if args.flag(1) {
                    THREAD.to_owned()
                } else {
                    format!("8:{other}")
                };
                let sync = c
                    .sync
                    .as_ref()
                    .filter(|_| args.flag(8))
                    .map(|s| format!("<messagessyncstate>{s}</messagessyncstate>"))
                    .unwrap_or_default();
                let body = format!(
                    "<messagesbyconversation><id>{id}</id><start>0</start>{sync}<pagesize>{page}</pagesize></messagesbyconversation>"
                );
                ("GET", "MSGR\\MESSAGESBYCONVERSATION", body.into_bytes())
            }
            9 => ("ACK", "MSGR", Vec::new()),
            10 => ("PNG", "CON", Vec::new()),
            11 => ("OUT", "CON", Vec::new()),
            _ => {
                let verb = Args::pick(&["XYZ", "DEL", "GET", "PUT", "SDG"], args.choice)?;
                (verb, "MSGR\\NOPE", b"<x/>".to_vec())
            }
        };
        let mut payload = Vec::new();
        if !body.is_empty() || !outer.is_empty() || args.flag(8) {
            payload.extend_from_slice(outer.as_bytes());
            payload.extend_from_slice(b"\r\n");
            payload.extend_from_slice(&body);
        }
        let cmd = msnp::Command::new(verb, Some(trid), Some(target)).with_payload(payload);
        Some(cmd.to_bytes())
    }

    fn observe(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String> {
        let Ok(Status::Complete((cmd, _))) = msnp::parse(frame) else {
            return Err("internal: observed frame does not parse".into());
        };
        let payload = match cmd.parse_payload() {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                return Err(format!(
                    "`{}`: payload does not decode: {e}",
                    imspec_codec::text::first_line(frame)
                ));
            }
            None => Payload::default(),
        };
        let c = self.conns.entry(conn).or_default();
        let body = payload.body_text().unwrap_or_default();
        match (cmd.verb.as_ref(), cmd.trid) {
            ("BND", _) => {
                c.registration = payload.headers.get("Set-Registration").map(str::to_owned);
            }
            ("SDG" | "NFY", Some(0)) => {
                // A push carries the layered message as received.
                Layered::parse(&payload.body).map_err(|e| {
                    format!(
                        "`{}`: pushed layered message does not decode: {e}",
                        imspec_codec::text::first_line(frame)
                    )
                })?;
            }
            ("SDG", Some(_)) if body.contains("<messageid>") => {
                let id: u64 = between(body, "<messageid>", "</messageid>")
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("bad sdg-response: {body}"))?;
                if id <= self.last_message_id {
                    return Err(format!(
                        "message id {id} after {}: ids must grow strictly",
                        self.last_message_id
                    ));
                }
                self.last_message_id = id;
            }
            ("GET", Some(_)) => match msgr::parse_document(body) {
                Ok(msgr::Document::MessagesByConversationResponse(r)) => {
                    c.sync = Some(r.messages_sync_state.into_owned());
                }
                Ok(msgr::Document::RecentConversationsResponse(_)) => {}
                Ok(other) => return Err(format!("GET answered with {}", other.root_name())),
                Err(e) => return Err(format!("GET reply body does not decode: {e}: {body}")),
            },
            _ => {}
        }
        Ok(())
    }
}

fn between<'s>(s: &'s str, open: &str, close: &str) -> Option<&'s str> {
    let rest = &s[s.find(open)? + open.len()..];
    Some(&rest[..rest.find(close)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame operation: op 2, connection index `conn` among the open ones, frame `kind`,
    /// the four argument bytes, then an optional body chunk.
    fn send(conn: u8, kind: u8, args: [u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = vec![2, conn, kind];
        v.extend_from_slice(&args);
        if !body.is_empty() {
            v.push(u8::try_from(body.len()).unwrap());
            v.extend_from_slice(body);
        }
        v
    }

    #[test]
    fn fetion_login_startchat_join_and_message() {
        let data = [
            vec![0, 0],                      // connect fetion (conn 1)
            send(0, 0, [0, 0, 0, 0], b""),   // R without A: 401
            send(0, 1, [0, 0, 0, 0], b""),   // R with the digest: 200
            send(0, 3, [0, 0, 0, 0], b""),   // StartChat: 200 with a credential
            vec![0, 1],                      // connect fetion-chat (conn 2)
            send(1, 5, [0, 0, 0, 0], b""),   // chat R with the credential: 200
            send(1, 7, [0, 0, 0, 0], b"hi"), // M with no other member: 404
            vec![7, 2],                      // past the relay timeout
        ]
        .concat();
        let trace = run_traced::<FetionModel>(&data).unwrap();
        assert_eq!(
            trace,
            [
                "1: SIP-C/2.0 401 Unauthorized",
                "1: SIP-C/2.0 200 OK",
                "1: SIP-C/2.0 200 OK",
                "2: SIP-C/2.0 200 OK",
                "2: SIP-C/2.0 404 Not Found",
            ]
        );
    }

    #[test]
    fn msnp_login_send_and_page() {
        let data = [
            vec![0, 0],                              // connect
            send(0, 0, [0, 0, 0, 0], b""),           // CNT
            send(0, 1, [0, 0, 0, 0], b""),           // ATH alice
            send(0, 2, [0, 0, 0, 0], b""),           // BND
            send(0, 6, [0, 0, 1, 0], b"hi"),         // SDG to bob
            send(0, 8, [0, 0, 1, 2], b""),           // GET history with bob, page size 2
            vec![6, 0, 4, b'x', b'y', b'\r', b'\n'], // raw junk: 200 and close
        ]
        .concat();
        let trace = run_traced::<MsnpModel>(&data).unwrap();
        let heads: Vec<String> = trace
            .iter()
            .map(|l| l.split(' ').take(4).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            heads,
            [
                "1: CNT 1 CON",
                "1: ATH 2 CON",
                "1: BND 3 CON",
                "1: SDG 4 MSGR",
                "1: GET 5 MSGR",
                "1: 200 0 CON"
            ],
            "{trace:#?}"
        );
    }

    /// The planted fuzz-only mutant panics on the long Call-ID that frame kind 10 can send.
    #[test]
    fn fetion_program_reaches_the_planted_bug() {
        let data = [vec![0, 0], send(0, 10, [40, 0, 0, 2], b"")].concat();
        fetion(&data).unwrap();
        let crashed = std::panic::catch_unwind(|| run_traced::<Planted>(&data));
        assert!(crashed.is_err(), "the planted bug did not fire");
    }

    /// The Fetion model against the server with the planted mutant.
    struct Planted(FetionModel);

    impl Model for Planted {
        type Hub = crate::fetion::Hub;
        const SERVICES: &'static [Service] = FetionModel::SERVICES;
        const STEPS_MS: &'static [u64] = FetionModel::STEPS_MS;
        fn start() -> Result<(Self, Self::Hub), String> {
            let mut config = crate::fetion::Config::new("127.0.0.1:8081");
            config.mutant = Some(crate::Mutant::FetionCrashOnLongCallId);
            Ok((
                Self(FetionModel::default()),
                crate::fetion::Hub::new(config),
            ))
        }
        fn cut_client(buf: &[u8]) -> Cut {
            FetionModel::cut_client(buf)
        }
        fn cut_server(buf: &[u8]) -> Cut {
            FetionModel::cut_server(buf)
        }
        fn frame(
            &mut self,
            kind: u8,
            args: Args,
            conn: ConnId,
            service: Service,
            input: &mut Input<'_>,
        ) -> Option<Vec<u8>> {
            self.0.frame(kind, args, conn, service, input)
        }
        fn observe(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String> {
            self.0.observe(conn, frame)
        }
    }

    #[test]
    fn hub_programs_never_break_an_invariant() {
        // A deterministic sweep of pseudo-random programs (the fuzz targets go further).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..300 {
            let data: Vec<u8> = (0..64 + round % 200)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            fetion(&data).unwrap_or_else(|e| panic!("fetion {data:?}: {e}"));
            if round % 10 == 0 {
                msnp(&data).unwrap_or_else(|e| panic!("msnp {data:?}: {e}"));
            }
        }
    }
}
