//! The MSNP HTTP gateway (`gateway.dll`, docs/protocols/gateway.md) in front of the MSNP24 hub.
//!
//! [`Table`] is sans-IO (quinn-proto style): it takes requests and hub outputs with the current
//! time and answers with [`Begin`] decisions and [`Response`]s; it owns no socket and reads no
//! clock. [`http`] is the thin hyper glue: it parses the HTTP request, feeds the MSNP hub and
//! holds long polls until the table hands them output or their deadline passes.
//!
//! Each gateway session is one MSNP connection of the hub (a [`ConnId`] at or above
//! [`CONN_BASE`]); the hub cannot tell it from a TCP connection.
//!
//! # Behaviour, and the choices made where the sources disagree
//!
//! * `POST` (or `GET`, RLWP) `/gateway/gateway.dll?…`; any other path is 404.
//! * Open: `Action=open&Server=NS&IP=…` (HYPO, PURPLE) or the webclient's
//!   `Version=1&Protocol=mtp&Action=open&Server=NS&IP=none` (seed 001); the body holds the
//!   first commands. `Server` other than `NS` is 400: MSNP24 has no switchboard. An optional
//!   `SessionTimeout=N` (RLWP) shortens the idle timeout to N seconds (1..=120).
//! * Send: `?SessionID=<sid>` with whole MSNP commands in the body. Poll:
//!   `?Action=poll&SessionID=<sid>[&Lifespan=N]`; a body on a poll is fed too. Close:
//!   `?Action=close&SessionID=<sid>` (RLWP): the hub sees the connection close.
//! * Every response to a live session carries `X-MSN-Messenger: SessionID=<sid>; GW-IP=<ip>`,
//!   `X-MSN-Host: <host:port>` and `X-MSN-SessionTimeout: <s>` (seed 001), and
//!   `Content-Type: application/x-msn-messenger`, or `text/html` once the open asked for it
//!   with `X-Requested-Session-Content-Type: text/html` (seed 001). Header names go out in
//!   hyper's lower case; HTTP header names are case-insensitive.
//! * SessionID is `<base>.<serial>` and the serial grows with every response (HYPO's rotating
//!   suffix). Every id issued for a session stays valid: a client with a poll and a send in
//!   flight cannot know which of two answers is newer.
//! * Output: the hub's output for a session is queued as the hub wrote it (whole commands).
//!   While a poll waits, everything queued is handed to that poll at once, which answers it
//!   (the early return of docs/protocols/gateway.md §3.4). Otherwise a send or open answer carries
//!   what is queued (the answer to its commands, NINA), at most [`MAX_RESPONSE_BODY`] bytes
//!   of whole commands; a send answered while a poll waits has an empty body because its
//!   output went to the poll. A response never splits a command (docs/protocols/gateway.md §3.2).
//! * A poll waits until output is handed to it or until `Lifespan` seconds (capped at
//!   [`MAX_LIFESPAN_S`], RLWP) pass, then answers with an empty body. Without `Lifespan` it
//!   answers at once.
//! * A second poll while one waits is answered 400 (HYPO) with the session's headers and an
//!   empty body; the waiting poll keeps its place and no output is taken (docs/protocols/gateway.md §3.5).
//! * An unknown or expired SessionID is answered 200 with
//!   `X-MSN-Messenger: SessionID=<sid>; Session=close` and an empty body (RLWP; PURPLE then
//!   drops the session); docs/protocols/gateway.md §3.6 also allows ESC's 400.
//! * A session with no request in flight for `X-MSN-SessionTimeout` seconds expires (ESC
//!   closes idle sessions too): the hub sees the connection close.
//! * When the hub closes the connection (`OUT`, a bad command line) the response that carries
//!   the last queued output also carries `Session=close` and the session ends.
//! * A client that goes away while its poll waits loses nothing: output handed to that poll
//!   goes back to the head of the queue.

use std::collections::{HashMap, VecDeque};

use super::rng::Rng;
use super::{ConnId, Mutant, Output};

pub mod http;

/// The gateway's path.
pub const PATH: &str = "/gateway/gateway.dll";
/// The default response content type (HYPO, ESC, seed 001).
pub const CONTENT_TYPE: &str = "application/x-msn-messenger";
/// `X-MSN-SessionTimeout` of the webclient's gateway (seed 001), in seconds.
pub const SESSION_TIMEOUT_S: u64 = 120;
/// The longest a poll is held (RLWP caps `Lifespan` at 180 s).
pub const MAX_LIFESPAN_S: u64 = 180;
/// The largest request body accepted (413 above).
pub const MAX_REQUEST_BODY: usize = 1 << 20;
/// A send or open answer carries at most this many bytes of queued commands (at least one
/// command, however long); the rest waits for the next request.
pub const MAX_RESPONSE_BODY: usize = 256 * 1024;
/// Most open sessions (503 above).
pub const MAX_SESSIONS: usize = 4096;
/// Gateway sessions use hub connection ids from here up, far above the driver's counter.
pub const CONN_BASE: ConnId = 1 << 62;
/// `gateway-split-commands` cuts bodies after this many bytes.
const SPLIT_AT: usize = 16;

/// How a [`Table`] answers.
#[derive(Clone, Debug)]
pub struct Config {
    /// `GW-IP` (seed 001: an IP; PURPLE sends later requests there).
    pub gw_ip: String,
    /// `X-MSN-Host` (seed 001: where later requests go; here `host:port`).
    pub host: String,
    /// Idle timeout and `X-MSN-SessionTimeout`, in seconds.
    pub session_timeout_s: u64,
    /// The rule to break, if any.
    pub mutant: Option<Mutant>,
    /// Seed of the session ids.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            gw_ip: "127.0.0.1".into(),
            host: "127.0.0.1".into(),
            session_timeout_s: SESSION_TIMEOUT_S,
            mutant: None,
            seed: 0,
        }
    }
}

/// The parameters of a gateway request's query string (names compared ignoring ASCII case).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// `Action`: `open`, `poll`, `close`, or absent (a send).
    pub action: Option<String>,
    /// `SessionID`.
    pub session_id: Option<String>,
    /// `Server` (`NS`).
    pub server: Option<String>,
    /// `Lifespan` in seconds.
    pub lifespan: Option<String>,
    /// `SessionTimeout` in seconds (RLWP).
    pub session_timeout: Option<String>,
}

impl Query {
    /// Parses `a=b&c=d`. Values are taken as written: the gateway's values (ids, numbers,
    /// `NS`, an IP) need no percent-decoding. Unknown parameters (`Version`, `Protocol`, `IP`)
    /// are ignored.
    pub fn parse(query: &str) -> Self {
        let mut q = Self::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match k.to_ascii_lowercase().as_str() {
                "action" => &mut q.action,
                "sessionid" => &mut q.session_id,
                "server" => &mut q.server,
                "lifespan" => &mut q.lifespan,
                "sessiontimeout" => &mut q.session_timeout,
                _ => continue,
            };
            *slot = Some(v.to_owned());
        }
        q
    }
}

/// A response for the glue to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers in order (names in their documented spelling).
    pub headers: Vec<(&'static str, String)>,
    /// Whole MSNP commands.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn plain(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// A request's id within a [`Table`].
pub type RequestId = u64;

/// What the glue does with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begin {
    /// Write this response; nothing else.
    Answer(Response),
    /// A new session: tell the hub `conn` connected, feed it the body, then [`Table::finish`].
    Open {
        /// The session's hub connection.
        conn: ConnId,
        /// The request.
        request: RequestId,
    },
    /// Feed the body to `conn`, then [`Table::finish`].
    Send {
        /// The session's hub connection.
        conn: ConnId,
        /// The request.
        request: RequestId,
    },
    /// Feed the body (if any) to `conn`, then wait: [`Table::collect`] whenever output may
    /// have arrived, [`Table::finish`] at `deadline_ms`, [`Table::abandon`] if the client
    /// goes away first.
    Poll {
        /// The session's hub connection.
        conn: ConnId,
        /// The request.
        request: RequestId,
        /// When to answer with whatever there is (Unix ms).
        deadline_ms: u64,
    },
    /// Tell the hub `conn` closed, then write the response.
    Close {
        /// The session's hub connection.
        conn: ConnId,
        /// The answer (the rest of the queue and `Session=close`).
        response: Response,
    },
}

/// The gateway's sessions.
#[derive(Debug)]
pub struct Table {
    config: Config,
    rng: Rng,
    sessions: HashMap<String, Session>,
    by_conn: HashMap<ConnId, String>,
    requests: HashMap<RequestId, Pending>,
    next_conn: ConnId,
    next_request: RequestId,
    /// [`Mutant::GatewayWedgeOnBadBody`] struck: no request is answered any more.
    pub(crate) wedged: bool,
}

#[derive(Debug)]
struct Session {
    conn: ConnId,
    serial: u64,
    first_serial: u64,
    /// Hub output not yet handed out, in chunks of whole commands.
    queue: VecDeque<Vec<u8>>,
    /// The hub closed the connection: end the session once the queue is delivered.
    hub_closed: bool,
    /// The poll that waits, if any.
    poll: Option<RequestId>,
    /// Requests begun and not yet answered.
    in_flight: usize,
    last_active_ms: u64,
    timeout_ms: u64,
    html: bool,
}

#[derive(Debug)]
struct Pending {
    base: String,
    poll: bool,
    /// Output handed to this poll, waiting to be collected.
    handed: Option<Vec<u8>>,
}

impl Table {
    /// A gateway with no sessions.
    pub fn new(config: Config) -> Self {
        Self {
            rng: Rng::new(config.seed ^ 0x6761_7465_7761_7921),
            config,
            sessions: HashMap::new(),
            by_conn: HashMap::new(),
            requests: HashMap::new(),
            next_conn: CONN_BASE,
            next_request: 1,
            wedged: false,
        }
    }

    /// Whether `conn` is a gateway session's hub connection.
    pub fn owns(conn: ConnId) -> bool {
        conn >= CONN_BASE
    }

    /// How many sessions are open.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Starts handling a request with query `q` at `now_ms`; `html` is whether it carries
    /// `X-Requested-Session-Content-Type: text/html`.
    pub fn begin(&mut self, now_ms: u64, q: &Query, html: bool) -> Begin {
        let action = q.action.as_deref().map(str::to_ascii_lowercase);
        match (action.as_deref(), q.session_id.as_deref()) {
            (Some("open"), _) => self.open(now_ms, q, html, None),
            (Some("poll"), Some(sid)) => self.poll(now_ms, sid, q),
            (Some("close"), Some(sid)) => self.close(now_ms, sid),
            (None, Some(sid)) => match self.lookup(sid) {
                Some(base) => self.send(now_ms, &base),
                None if self.mutant(Mutant::GatewayUnknownSessionAccepted) => {
                    let base = sid.split('.').next().unwrap_or(sid).to_owned();
                    self.open(now_ms, q, html, Some(base))
                }
                None => Begin::Answer(self.unknown(sid)),
            },
            _ => Begin::Answer(Response::plain(400)),
        }
    }

    /// Queues a hub output for a gateway session; returns whether a waiting poll was handed
    /// output (the glue then wakes its waiters).
    pub fn on_output(&mut self, output: Output) -> bool {
        let (conn, bytes) = match output {
            Output::Send { conn, bytes } => (conn, Some(bytes)),
            Output::Close { conn } => (conn, None),
        };
        let Some(base) = self.by_conn.get(&conn).cloned() else {
            return false;
        };
        let Some(s) = self.sessions.get_mut(&base) else {
            return false;
        };
        match bytes {
            Some(b) if !b.is_empty() => s.queue.push_back(b),
            Some(_) => {}
            None => s.hub_closed = true,
        }
        if self.mutant(Mutant::GatewayPollHoldsOutput) {
            return false;
        }
        self.hand(&base)
    }

    /// The answer handed to poll `request`, if output arrived for it.
    pub fn collect(&mut self, now_ms: u64, request: RequestId) -> Option<Response> {
        let handed = self.requests.get_mut(&request)?.handed.take()?;
        Some(self.answer(now_ms, request, handed))
    }

    /// Answers `request` now: a send or open with what is queued (unless a poll waits), a
    /// poll at its deadline with what was handed to it, or an empty body.
    pub fn finish(&mut self, now_ms: u64, request: RequestId) -> Response {
        let Some(p) = self.requests.get_mut(&request) else {
            return Response::plain(500);
        };
        if let Some(handed) = p.handed.take() {
            return self.answer(now_ms, request, handed);
        }
        let (base, poll) = (p.base.clone(), p.poll);
        let holds = self.mutant(Mutant::GatewayPollHoldsOutput);
        let split = self.mutant(Mutant::GatewaySplitCommands);
        let body = match self.sessions.get_mut(&base) {
            Some(s) if poll => {
                if s.poll == Some(request) {
                    s.poll = None;
                }
                if holds {
                    take(&mut s.queue, split)
                } else {
                    Vec::new()
                }
            }
            Some(s) if s.poll.is_none() || holds => take(&mut s.queue, split),
            _ => Vec::new(),
        };
        self.answer(now_ms, request, body)
    }

    /// The client of `request` went away before its answer: output handed to it goes back to
    /// the head of the queue.
    pub fn abandon(&mut self, now_ms: u64, request: RequestId) {
        let Some(p) = self.requests.remove(&request) else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(&p.base) {
            if s.poll == Some(request) {
                s.poll = None;
            }
            if let Some(b) = p.handed.filter(|b| !b.is_empty()) {
                s.queue.push_front(b);
            }
            s.in_flight = s.in_flight.saturating_sub(1);
            s.last_active_ms = now_ms;
        }
    }

    /// Ends sessions idle for their timeout; returns their hub connections (the glue tells
    /// the hub they closed).
    pub fn expire(&mut self, now_ms: u64) -> Vec<ConnId> {
        if self.mutant(Mutant::GatewayNoIdleExpiry) {
            return Vec::new();
        }
        let idle: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.in_flight == 0 && now_ms >= s.last_active_ms.saturating_add(s.timeout_ms)
            })
            .map(|(b, _)| b.clone())
            .collect();
        idle.iter()
            .filter_map(|b| self.remove(b))
            .map(|s| s.conn)
            .collect()
    }

    pub(crate) fn mutant(&self, m: Mutant) -> bool {
        self.config.mutant == Some(m)
    }

    fn open(&mut self, now_ms: u64, q: &Query, html: bool, base: Option<String>) -> Begin {
        if q.server
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("NS"))
        {
            return Begin::Answer(Response::plain(400));
        }
        if self.sessions.len() >= MAX_SESSIONS {
            return Begin::Answer(Response::plain(503));
        }
        let base = base.unwrap_or_else(|| {
            loop {
                let b = (self.rng.next_u64() % 9_000_000_000 + 1_000_000_000).to_string();
                if !self.sessions.contains_key(&b) {
                    break b;
                }
            }
        });
        let default_ms = self.config.session_timeout_s.saturating_mul(1000);
        let timeout_ms = q
            .session_timeout
            .as_deref()
            .and_then(|t| t.parse::<u64>().ok())
            .map_or(default_ms, |t| {
                t.clamp(1, self.config.session_timeout_s)
                    .saturating_mul(1000)
            });
        let serial = self.rng.next_u64() % 90_000 + 10_000;
        let conn = self.next_conn;
        self.next_conn += 1;
        self.by_conn.insert(conn, base.clone());
        self.sessions.insert(
            base.clone(),
            Session {
                conn,
                serial,
                first_serial: serial + 1,
                queue: VecDeque::new(),
                hub_closed: false,
                poll: None,
                in_flight: 0,
                last_active_ms: now_ms,
                timeout_ms,
                html,
            },
        );
        let request = self.start(&base, false);
        Begin::Open { conn, request }
    }

    fn send(&mut self, _now_ms: u64, base: &str) -> Begin {
        let Some(conn) = self.sessions.get(base).map(|s| s.conn) else {
            return Begin::Answer(Response::plain(500));
        };
        let request = self.start(base, false);
        Begin::Send { conn, request }
    }

    fn poll(&mut self, now_ms: u64, sid: &str, q: &Query) -> Begin {
        let Some(base) = self.lookup(sid) else {
            return Begin::Answer(self.unknown(sid));
        };
        let request = self.next_request;
        let Some(s) = self.sessions.get_mut(&base) else {
            return Begin::Answer(Response::plain(500));
        };
        if s.poll.is_some() {
            if self.config.mutant == Some(Mutant::GatewayConcurrentLosesOutput) {
                // The bug: the rejected request takes the waiting poll's place.
                self.next_request += 1;
                s.poll = Some(request);
                self.requests.insert(
                    request,
                    Pending {
                        base: base.clone(),
                        poll: true,
                        handed: None,
                    },
                );
            }
            let headers = self.headers(&base, false);
            return Begin::Answer(Response {
                status: 400,
                headers,
                body: Vec::new(),
            });
        }
        let conn = s.conn;
        let lifespan_s = q
            .lifespan
            .as_deref()
            .and_then(|l| l.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(MAX_LIFESPAN_S);
        let lifespan_s = if self.mutant(Mutant::GatewayPollIgnoresLifespan) {
            MAX_LIFESPAN_S
        } else {
            lifespan_s
        };
        let request = self.start(&base, true);
        if let Some(s) = self.sessions.get_mut(&base) {
            s.poll = Some(request);
        }
        if !self.mutant(Mutant::GatewayPollHoldsOutput) {
            self.hand(&base);
        }
        Begin::Poll {
            conn,
            request,
            deadline_ms: now_ms.saturating_add(lifespan_s * 1000),
        }
    }

    fn close(&mut self, now_ms: u64, sid: &str) -> Begin {
        let Some(base) = self.lookup(sid) else {
            return Begin::Answer(self.unknown(sid));
        };
        let headers = self.headers(&base, true);
        let Some(mut s) = self.remove(&base) else {
            return Begin::Answer(Response::plain(500));
        };
        // A waiting poll answers at once, with `Session=close`.
        if let Some(p) = s.poll.take().and_then(|r| self.requests.get_mut(&r)) {
            p.handed = Some(Vec::new());
        }
        let mut body = Vec::new();
        for chunk in s.queue.drain(..) {
            body.extend_from_slice(&chunk);
        }
        let _ = now_ms;
        Begin::Close {
            conn: s.conn,
            response: Response {
                status: 200,
                headers,
                body,
            },
        }
    }

    /// Registers a request of session `base`.
    fn start(&mut self, base: &str, poll: bool) -> RequestId {
        let request = self.next_request;
        self.next_request += 1;
        self.requests.insert(
            request,
            Pending {
                base: base.to_owned(),
                poll,
                handed: None,
            },
        );
        if let Some(s) = self.sessions.get_mut(base) {
            s.in_flight += 1;
        }
        request
    }

    /// Hands what is queued to the waiting poll of `base`, if there is one and there is
    /// something to hand (output, or the news that the hub closed).
    fn hand(&mut self, base: &str) -> bool {
        let split = self.mutant(Mutant::GatewaySplitCommands);
        let Some(s) = self.sessions.get_mut(base) else {
            return false;
        };
        if s.queue.is_empty() && !s.hub_closed {
            return false;
        }
        let Some(request) = s.poll.take() else {
            return false;
        };
        let body = take(&mut s.queue, split);
        match self.requests.get_mut(&request) {
            Some(p) => {
                p.handed = Some(body);
                true
            }
            // INVARIANT: a registered poll has a pending entry; if not, keep the output.
            None => {
                if !body.is_empty() {
                    s.queue.push_front(body);
                }
                false
            }
        }
    }

    /// Builds the answer to `request` with `body`, rotating the SessionID, and ends the
    /// session if the hub closed it and nothing is left to deliver.
    fn answer(&mut self, now_ms: u64, request: RequestId, body: Vec<u8>) -> Response {
        let Some(p) = self.requests.remove(&request) else {
            return Response::plain(500);
        };
        let Some(s) = self.sessions.get_mut(&p.base) else {
            // Closed or expired while the request waited.
            let mut r = self.unknown(&p.base);
            r.body = body;
            return r;
        };
        s.in_flight = s.in_flight.saturating_sub(1);
        s.last_active_ms = now_ms;
        s.serial += 1;
        let ends = s.hub_closed && s.queue.is_empty();
        let headers = self.headers(&p.base, ends);
        if ends {
            self.remove(&p.base);
        }
        Response {
            status: 200,
            headers,
            body,
        }
    }

    /// The headers of a response to session `base`.
    fn headers(&self, base: &str, close: bool) -> Vec<(&'static str, String)> {
        let Some(s) = self.sessions.get(base) else {
            return Vec::new();
        };
        let sid = format!("{base}.{}", s.serial);
        let missing = self.mutant(Mutant::GatewayMissingHeaders);
        let mut messenger = if missing {
            format!("SessionID={sid}")
        } else {
            format!("SessionID={sid}; GW-IP={}", self.config.gw_ip)
        };
        if close {
            messenger.push_str("; Session=close");
        }
        let mut h = vec![("X-MSN-Messenger", messenger)];
        if !missing {
            h.push(("X-MSN-Host", self.config.host.clone()));
            h.push(("X-MSN-SessionTimeout", (s.timeout_ms / 1000).to_string()));
        }
        let html = s.html && !self.mutant(Mutant::GatewayIgnoresContentTypeRequest);
        h.push((
            "Content-Type",
            if html { "text/html" } else { CONTENT_TYPE }.to_owned(),
        ));
        h
    }

    /// The answer to an unknown or ended session (RLWP).
    fn unknown(&self, sid: &str) -> Response {
        Response {
            status: 200,
            headers: vec![
                ("X-MSN-Messenger", format!("SessionID={sid}; Session=close")),
                ("X-MSN-Host", self.config.host.clone()),
                ("Content-Type", CONTENT_TYPE.to_owned()),
            ],
            body: Vec::new(),
        }
    }

    /// The base of a live session that issued `sid` (`<base>.<serial>`, or the bare base).
    fn lookup(&self, sid: &str) -> Option<String> {
        let (base, serial) = match sid.split_once('.') {
            Some((b, s)) => (b, Some(s.parse::<u64>().ok()?)),
            None => (sid, None),
        };
        let s = self.sessions.get(base)?;
        let ok = match serial {
            None => true,
            Some(n) if self.mutant(Mutant::GatewayStaleSessionId) => n == s.first_serial,
            Some(n) => n <= s.serial,
        };
        ok.then(|| base.to_owned())
    }

    fn remove(&mut self, base: &str) -> Option<Session> {
        let s = self.sessions.remove(base)?;
        self.by_conn.remove(&s.conn);
        Some(s)
    }
}

/// Takes whole chunks from the front of `queue` up to [`MAX_RESPONSE_BODY`] bytes (at least
/// one chunk); with `split` (the mutant) at most [`SPLIT_AT`] bytes, cutting a chunk.
fn take(queue: &mut VecDeque<Vec<u8>>, split: bool) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(chunk) = queue.pop_front() {
        if split && body.len() + chunk.len() > SPLIT_AT {
            let room = SPLIT_AT - body.len();
            if room == 0 {
                queue.push_front(chunk);
            } else {
                let (head, tail) = chunk.split_at(room.min(chunk.len()));
                body.extend_from_slice(head);
                if !tail.is_empty() {
                    queue.push_front(tail.to_vec());
                }
            }
            break;
        }
        if !body.is_empty() && body.len() + chunk.len() > MAX_RESPONSE_BODY {
            queue.push_front(chunk);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(mutant: Option<Mutant>) -> Table {
        Table::new(Config {
            host: "127.0.0.1:1863".into(),
            mutant,
            seed: 7,
            ..Config::default()
        })
    }

    fn sid(r: &Response) -> String {
        let m = r.header("X-MSN-Messenger").unwrap();
        m.split("; ")
            .find_map(|p| p.strip_prefix("SessionID="))
            .unwrap()
            .to_owned()
    }

    fn open(t: &mut Table, now: u64) -> (ConnId, Response) {
        let q = Query::parse("Action=open&Server=NS&IP=127.0.0.1");
        let Begin::Open { conn, request } = t.begin(now, &q, false) else {
            panic!("not an open");
        };
        t.on_output(Output::Send {
            conn,
            bytes: b"PNG 1 CON 0\r\n".to_vec(),
        });
        (conn, t.finish(now, request))
    }

    fn begin(t: &mut Table, now: u64, query: &str) -> Begin {
        t.begin(now, &Query::parse(query), false)
    }

    #[test]
    fn gateway_query_parse_ignores_case_and_unknown_parameters() {
        let q = Query::parse("Version=1&Protocol=mtp&action=open&SERVER=NS&IP=none&Lifespan=60");
        assert_eq!(q.action.as_deref(), Some("open"));
        assert_eq!(q.server.as_deref(), Some("NS"));
        assert_eq!(q.lifespan.as_deref(), Some("60"));
        assert_eq!(q.session_id, None);
    }

    #[test]
    fn gateway_open_answers_with_the_seed_headers_and_the_queued_commands() {
        let mut t = table(None);
        let (_, r) = open(&mut t, 1_000);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"PNG 1 CON 0\r\n");
        let m = r.header("X-MSN-Messenger").unwrap();
        assert!(
            m.starts_with("SessionID=") && m.ends_with("; GW-IP=127.0.0.1"),
            "{m}"
        );
        assert_eq!(r.header("X-MSN-Host"), Some("127.0.0.1:1863"));
        assert_eq!(r.header("X-MSN-SessionTimeout"), Some("120"));
        assert_eq!(r.header("Content-Type"), Some(CONTENT_TYPE));
        let q = Query::parse("Version=1&Protocol=mtp&Action=open&Server=NS&IP=none");
        let Begin::Open { request, .. } = t.begin(1_000, &q, true) else {
            panic!()
        };
        assert_eq!(
            t.finish(1_000, request).header("Content-Type"),
            Some("text/html")
        );
        assert!(matches!(
            begin(&mut t, 1_000, "Action=open&Server=SB&IP=x"),
            Begin::Answer(Response { status: 400, .. })
        ));
    }

    #[test]
    fn gateway_session_id_rotates_and_every_issued_id_stays_valid() {
        let mut t = table(None);
        let (_, r) = open(&mut t, 0);
        let first = sid(&r);
        let Begin::Send { request, .. } = begin(&mut t, 0, &format!("SessionID={first}")) else {
            panic!()
        };
        let second = sid(&t.finish(0, request));
        assert_ne!(first, second);
        for id in [&first, &second] {
            assert!(matches!(
                begin(&mut t, 0, &format!("SessionID={id}")),
                Begin::Send { .. }
            ));
        }
        let (base, _) = second.split_once('.').unwrap();
        let future = format!("SessionID={base}.99999999");
        let Begin::Answer(r) = begin(&mut t, 0, &future) else {
            panic!("an id never issued is unknown")
        };
        assert!(
            r.header("X-MSN-Messenger")
                .unwrap()
                .ends_with("Session=close")
        );
    }

    #[test]
    fn gateway_poll_gets_output_at_once_and_a_send_meanwhile_is_empty() {
        let mut t = table(None);
        let (conn, r) = open(&mut t, 0);
        let s = sid(&r);
        let Begin::Poll {
            request: poll,
            deadline_ms,
            ..
        } = begin(&mut t, 0, &format!("Action=poll&SessionID={s}&Lifespan=60"))
        else {
            panic!()
        };
        assert_eq!(deadline_ms, 60_000);
        assert_eq!(t.collect(0, poll), None);
        let Begin::Send { request: send, .. } = begin(&mut t, 5, &format!("SessionID={s}")) else {
            panic!()
        };
        assert!(t.on_output(Output::Send {
            conn,
            bytes: b"PNG 2 CON 0\r\n".to_vec(),
        }));
        assert_eq!(t.finish(5, send).body, b"");
        let r = t.collect(6, poll).unwrap();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &b"PNG 2 CON 0\r\n"[..])
        );
        // A poll whose deadline passes answers empty.
        let Begin::Poll { request, .. } =
            begin(&mut t, 10, &format!("Action=poll&SessionID={s}&Lifespan=1"))
        else {
            panic!()
        };
        assert_eq!(t.finish(1_010, request).body, b"");
        // Lifespan is capped.
        let Begin::Poll {
            deadline_ms,
            request,
            ..
        } = begin(
            &mut t,
            0,
            &format!("Action=poll&SessionID={s}&Lifespan=100000"),
        )
        else {
            panic!()
        };
        assert_eq!(deadline_ms, MAX_LIFESPAN_S * 1000);
        t.abandon(0, request);
    }

    #[test]
    fn gateway_second_poll_is_400_and_the_first_keeps_its_output() {
        for mutant in [None, Some(Mutant::GatewayConcurrentLosesOutput)] {
            let mut t = table(mutant);
            let (conn, r) = open(&mut t, 0);
            let s = sid(&r);
            let poll = format!("Action=poll&SessionID={s}&Lifespan=5");
            let Begin::Poll { request: first, .. } = begin(&mut t, 0, &poll) else {
                panic!()
            };
            let Begin::Answer(second) = begin(&mut t, 0, &poll) else {
                panic!()
            };
            assert_eq!(second.status, 400);
            assert!(second.body.is_empty());
            assert!(second.header("X-MSN-Messenger").is_some());
            t.on_output(Output::Send {
                conn,
                bytes: b"PNG 3 CON 0\r\n".to_vec(),
            });
            let got = t.collect(1, first).map(|r| r.body);
            if mutant.is_none() {
                assert_eq!(got.as_deref(), Some(&b"PNG 3 CON 0\r\n"[..]));
            } else {
                assert_eq!(
                    got, None,
                    "the mutant hands the output to the rejected request"
                );
                assert_eq!(t.finish(5_000, first).body, b"");
            }
        }
    }

    #[test]
    fn gateway_abandoned_poll_returns_its_output_to_the_queue() {
        let mut t = table(None);
        let (conn, r) = open(&mut t, 0);
        let s = sid(&r);
        let Begin::Poll { request, .. } =
            begin(&mut t, 0, &format!("Action=poll&SessionID={s}&Lifespan=5"))
        else {
            panic!()
        };
        t.on_output(Output::Send {
            conn,
            bytes: b"PNG 4 CON 0\r\n".to_vec(),
        });
        t.abandon(1, request);
        let Begin::Send { request, .. } = begin(&mut t, 2, &format!("SessionID={s}")) else {
            panic!()
        };
        assert_eq!(t.finish(2, request).body, b"PNG 4 CON 0\r\n");
    }

    #[test]
    fn gateway_unknown_session_is_refused_with_session_close() {
        let mut t = table(None);
        let Begin::Answer(r) = begin(&mut t, 0, "SessionID=123.4") else {
            panic!()
        };
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("X-MSN-Messenger"),
            Some("SessionID=123.4; Session=close")
        );
        assert!(r.body.is_empty());
        let mut m = table(Some(Mutant::GatewayUnknownSessionAccepted));
        assert!(matches!(
            begin(&mut m, 0, "SessionID=123.4"),
            Begin::Open { .. }
        ));
    }

    #[test]
    fn gateway_idle_sessions_expire_but_not_while_a_poll_waits() {
        let mut t = table(None);
        let q = Query::parse("Action=open&Server=NS&IP=x&SessionTimeout=1");
        let Begin::Open { conn, request } = t.begin(0, &q, false) else {
            panic!()
        };
        let r = t.finish(0, request);
        assert_eq!(r.header("X-MSN-SessionTimeout"), Some("1"));
        let s = sid(&r);
        let Begin::Poll { request, .. } =
            begin(&mut t, 0, &format!("Action=poll&SessionID={s}&Lifespan=5"))
        else {
            panic!()
        };
        assert!(t.expire(3_000).is_empty(), "a waiting poll is not idle");
        t.finish(5_000, request);
        assert!(t.expire(5_500).is_empty());
        assert_eq!(t.expire(6_000), vec![conn]);
        assert_eq!(t.sessions(), 0);
        let mut m = table(Some(Mutant::GatewayNoIdleExpiry));
        open(&mut m, 0);
        assert!(m.expire(1_000_000).is_empty());
    }

    #[test]
    fn gateway_hub_close_ends_the_session_after_the_last_output() {
        let mut t = table(None);
        let (conn, r) = open(&mut t, 0);
        let s = sid(&r);
        let Begin::Send { request, .. } = begin(&mut t, 0, &format!("SessionID={s}")) else {
            panic!()
        };
        t.on_output(Output::Send {
            conn,
            bytes: b"OUT 2 CON 0\r\n".to_vec(),
        });
        t.on_output(Output::Close { conn });
        let r = t.finish(0, request);
        assert_eq!(r.body, b"OUT 2 CON 0\r\n");
        assert!(
            r.header("X-MSN-Messenger")
                .unwrap()
                .ends_with("; Session=close")
        );
        assert_eq!(t.sessions(), 0);
    }

    #[test]
    fn gateway_take_keeps_commands_whole_unless_the_mutant_splits() {
        let mut q: VecDeque<Vec<u8>> =
            [b"PNG 1 CON 0\r\n".to_vec(), b"PNG 2 CON 0\r\n".to_vec()].into();
        assert_eq!(take(&mut q, false), b"PNG 1 CON 0\r\nPNG 2 CON 0\r\n");
        let mut q: VecDeque<Vec<u8>> =
            [b"PNG 1 CON 0\r\n".to_vec(), b"PNG 2 CON 0\r\n".to_vec()].into();
        assert_eq!(take(&mut q, true), b"PNG 1 CON 0\r\nPNG");
        assert_eq!(take(&mut q, true), b" 2 CON 0\r\n");
        let big = vec![b'x'; MAX_RESPONSE_BODY + 1];
        let mut q: VecDeque<Vec<u8>> = [big.clone(), b"y".to_vec()].into();
        assert_eq!(take(&mut q, false), big, "one chunk even when over the cap");
        assert_eq!(take(&mut q, false), b"y");
    }
}
