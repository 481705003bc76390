//! State-machine fuzzing of the reference server's sans-IO hubs, in process: the bodies of the
//! `server_*` fuzz targets and of their regression tests, one module per protocol
//! ([`fetion`], [`msnp`], [`sip`], [`leancloud`]; [`crate::PROTOCOLS`] lists them). The byte-
//! stream hubs share the driver below; the LeanCloud hub takes whole WebSocket messages, so
//! [`leancloud`] has its own driver and program format.
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

use crate::{ConnId, Event, Hub, Output, Service};

pub mod fetion;
pub mod leancloud;
pub mod msnp;
pub mod sip;

/// Most operations decoded from one input.
pub const MAX_OPS: usize = 256;
/// Most connections one input opens.
pub const MAX_CONNS: usize = 8;
/// The clock at the start of every run (Unix ms, 2015-04-29).
const START_MS: u64 = 1_430_300_000_000;

/// One protocol's part of the driver.
pub trait Model: Sized {
    /// The hub under test.
    type Hub: for<'a> Hub<Event<'a> = Event<'a>>;
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

#[cfg(test)]
pub(crate) mod tests {
    /// A frame operation: op 2, connection index `conn` among the open ones, frame `kind`,
    /// the four argument bytes, then an optional body chunk.
    pub(crate) fn send(conn: u8, kind: u8, args: [u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = vec![2, conn, kind];
        v.extend_from_slice(&args);
        if !body.is_empty() {
            v.push(u8::try_from(body.len()).unwrap());
            v.extend_from_slice(body);
        }
        v
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
            super::fetion::run(&data).unwrap_or_else(|e| panic!("fetion {data:?}: {e}"));
            if round % 10 == 0 {
                super::msnp::run(&data).unwrap_or_else(|e| panic!("msnp {data:?}: {e}"));
            }
        }
    }
}
