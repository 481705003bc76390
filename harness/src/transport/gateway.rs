//! MSNP over the HTTP gateway (`gateway.dll`, docs/protocols/gateway.md, seed 001), with hyper.
//!
//! [`Gateway`] wraps another connector. `connect` to the service [`SERVICE`] returns a byte
//! stream that carries MSNP like a TCP connection, so any MSNP scenario runs over it
//! unchanged; every other endpoint, and every [`Connector::dial`], goes to the wrapped
//! connector. Behind the stream a bridge task:
//!
//! * cuts what the runner writes into whole MSNP commands with the codec and sends them in
//!   order, one request at a time: the first as the open (`Action=open&Server=NS&IP=…`, or the
//!   webclient's `Version=1&Protocol=mtp&Action=open&Server=NS&IP=none`), later ones as
//!   `?SessionID=<sid>` (bytes the codec rejects go out as they are: the server judges them);
//! * keeps one long poll (`Action=poll&SessionID=<sid>&Lifespan=60`) outstanding beside the
//!   sends, as the webclient does (seed 001);
//! * follows the newest `SessionID` and `GW-IP` of every response's `X-MSN-Messenger` (later
//!   requests go to `GW-IP`, or to `X-MSN-Host` when that names a port and `GW-IP` does not;
//!   PURPLE, seed 001) and honours `Session=close` (the stream ends after that body, PURPLE);
//! * checks with the codec that each body holds only whole commands (docs/protocols/gateway.md §3.2)
//!   and fails the stream with a read error otherwise; a status other than 200 or a response
//!   without `X-MSN-Messenger` fails it too;
//! * when the runner closes the stream, sends what is left, then `Action=close` (RLWP), so
//!   the server sees the MSNP connection end as it would on TCP; the stream's shutdown
//!   completes when that is done, and the runner's `disconnect` waits for it (up to the step
//!   timeout), so the server has taken in what was written before the next step starts and
//!   the next step's requests cannot overtake those requests.
//!
//! Bodies reach the runner in the order their responses arrive. A send answered while the poll
//! is out may, on a server that splits output between the two, overtake output the poll
//! took earlier; the runner pairs replies by TrID, so only checks that a push has *not* come
//! yet could notice.
//!
//! The module also holds the HTTP exchange the `http:` scenario step makes ([`exchange`]); the
//! step's response view is `runner::http`, the twin cases that run every MSNP case over the
//! gateway are `runner::twins`, and `report::Parity::gateway` sums up the two transports.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use imspec_codec::Status;
use imspec_codec::msnp;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::tap::{self, Scope};
use super::{BoxFuture, BoxStream, Carrier, Connector, Endpoint, TransportError, first_address};
use imspec_codec::text::escape;

/// The service name of the gateway (`--target msnp-gateway=HOST:PORT`, `actors: {a: msnp-gateway}`).
pub const SERVICE: &str = "msnp-gateway";
/// Appended to the id of an MSNP case run over the gateway (`msnp/001-login@gateway`).
pub const SUFFIX: &str = "@gateway";
/// The gateway's path.
pub const PATH: &str = "/gateway/gateway.dll";
/// `Lifespan` of the bridge's polls (seed 001).
pub const LIFESPAN_S: u64 = 60;
/// Largest response body read.
pub const MAX_BODY: usize = 4 << 20;
/// How much longer than `Lifespan` a poll may take before the stream fails.
const POLL_GRACE: Duration = Duration::from_secs(30);
/// The longest a send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest the closing request may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which open request the bridge makes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Open {
    /// `Action=open&Server=NS&IP=<host>` (HYPO, PURPLE).
    Classic,
    /// `Version=1&Protocol=mtp&Action=open&Server=NS&IP=none` (the outlook.com webclient, seed 001).
    #[default]
    Webclient,
}

/// How the bridge talks to the gateway.
#[derive(Clone, Debug)]
pub struct Options {
    /// The open request's form.
    pub open: Open,
    /// `Lifespan` of each poll, in seconds.
    pub lifespan_s: u64,
    /// The `Host` header until a response names `X-MSN-Host` (and `IP=` of a classic open).
    pub host: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            open: Open::default(),
            lifespan_s: LIFESPAN_S,
            host: "localhost".into(),
        }
    }
}

/// A connector that runs MSNP over the HTTP gateway for [`SERVICE`] and defers the rest.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<dyn Connector>,
    options: Options,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Wraps `inner`, which dials the gateway's HTTP endpoint and serves every other endpoint.
    pub fn new(inner: Arc<dyn Connector>, options: Options) -> Self {
        Self { inner, options }
    }

    /// Wraps `inner` with the default options.
    pub fn wrap(inner: impl Connector + 'static) -> Self {
        Self::new(Arc::new(inner), Options::default())
    }
}

impl Connector for Gateway {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            if !matches!(to, Endpoint::Service(s) if s == SERVICE) {
                return self.inner.connect(to).await;
            }
            // Dial now, so an unreachable gateway fails the connect step as TCP would.
            let stream = self.inner.dial(to).await?;
            let first = handshake(stream)
                .await
                .map_err(|e| TransportError::Unreachable {
                    to: SERVICE.into(),
                    source: io::Error::other(e),
                })?;
            let (to_runner, from_bridge) = mpsc::unbounded_channel();
            let (to_bridge, from_runner) = mpsc::unbounded_channel();
            let (running, carrier) = Carrier::new();
            let bridge = Bridge {
                inner: Arc::clone(&self.inner),
                lifespan_s: self.options.lifespan_s,
                open: self.options.open,
                host: self.options.host.clone(),
                at: to.clone(),
                sid: None,
                to_runner,
                // The bridge's later requests belong to the actor that connected (`--pcap`).
                scope: tap::current(),
                _running: running,
            };
            tokio::spawn(bridge.run(from_runner, first));
            Ok(Box::new(Pipe {
                rx: from_bridge,
                pending: Bytes::new(),
                done: false,
                tx: Some(to_bridge),
                carrier,
            }) as BoxStream)
        })
    }

    fn dial<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        self.inner.dial(to)
    }
}

/// One HTTP request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `POST`, `GET`, …
    pub method: String,
    /// Path and query (origin form).
    pub target: String,
    /// Extra headers in order; `Host` defaults to the `host` given to [`exchange`].
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// One line for the wire log.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.method, self.target);
        for (n, v) in &self.headers {
            s.push_str(&format!(" | {n}: {v}"));
        }
        s.push_str(&format!(" | body: {}", escape(&self.body)));
        s
    }
}

/// One HTTP response: header names as hyper gives them (lower case), values as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header (name compared ignoring ASCII case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `key=value` pairs of `X-MSN-Messenger` (`SessionID`, `GW-IP`, `Session`, …).
    pub fn messenger(&self) -> Vec<(String, String)> {
        self.header("X-MSN-Messenger")
            .map(messenger_pairs)
            .unwrap_or_default()
    }

    /// One line for the wire log.
    pub fn describe(&self) -> String {
        let mut s = format!("HTTP {}", self.status);
        for (n, v) in &self.headers {
            if !matches!(n.as_str(), "date" | "content-length") {
                s.push_str(&format!(" | {}: {v}", spelling(n)));
            }
        }
        s.push_str(&format!(" | body: {}", escape(&self.body)));
        s
    }
}

/// Sends `req` over a fresh HTTP/1.1 connection on `stream` and reads the response.
pub async fn exchange(
    stream: BoxStream,
    req: &HttpRequest,
    host: &str,
) -> Result<HttpResponse, String> {
    let mut sender = handshake(stream).await?;
    send_on(&mut sender, req, host).await
}

/// The `key=value` pairs of an `X-MSN-Messenger` value (`;`-separated).
pub fn messenger_pairs(value: &str) -> Vec<(String, String)> {
    value
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect()
}

/// The verbs of the whole commands at the start of `body` and the bytes left after them.
pub(crate) fn commands(body: &[u8]) -> (Vec<String>, usize) {
    let mut verbs = Vec::new();
    let mut at = 0;
    while let Some(rest) = body.get(at..).filter(|r| !r.is_empty()) {
        match msnp::parse(rest) {
            Ok(Status::Complete((cmd, n))) => {
                verbs.push(cmd.verb.to_string());
                at += n;
            }
            _ => break,
        }
    }
    (verbs, body.len() - at)
}

/// How a header name is shown: the documented spelling of the gateway's headers, else
/// Title-Case (`content-type` → `Content-Type`).
pub(crate) fn spelling(lower: &str) -> String {
    const KNOWN: &[&str] = &[
        "X-MSN-Messenger",
        "X-MSN-Host",
        "X-MSN-SessionTimeout",
        "X-MSN-SkypeId",
        "X-MSNSERVER",
        "X-MSN-Auth",
        "X-Requested-Session-Content-Type",
    ];
    if let Some(k) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(lower)) {
        return (*k).to_owned();
    }
    lower
        .split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

async fn handshake(stream: BoxStream) -> Result<SendRequest<Full<Bytes>>, String> {
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn send_on(
    sender: &mut SendRequest<Full<Bytes>>,
    req: &HttpRequest,
    host: &str,
) -> Result<HttpResponse, String> {
    let mut b = hyper::Request::builder()
        .method(req.method.as_str())
        .uri(req.target.as_str());
    if !req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        b = b.header(hyper::header::HOST, host);
    }
    for (n, v) in &req.headers {
        b = b.header(n.as_str(), v.as_str());
    }
    let request = b
        .body(Full::new(Bytes::from(req.body.clone())))
        .map_err(|e| format!("bad request {}: {e}", req.target))?;
    let resp = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{} {}: {e}", req.method, req.target))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading the body of {}: {e}", req.target))?
        .to_bytes()
        .to_vec();
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// The runner's end of a bridged connection: reads what the bridge delivers, writes to it.
/// Its shutdown is done when the bridge is: what was written has been sent and answered,
/// and the session ended (`Action=close`), as a TCP close reaches the server after the
/// bytes written before it.
struct Pipe {
    rx: mpsc::UnboundedReceiver<io::Result<Bytes>>,
    pending: Bytes,
    done: bool,
    tx: Option<mpsc::UnboundedSender<Bytes>>,
    /// The bridge task.
    carrier: Carrier,
}

impl AsyncRead for Pipe {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let n = buf.remaining().min(this.pending.len());
                buf.put_slice(&this.pending.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.done {
                return Poll::Ready(Ok(()));
            }
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => this.pending = b,
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Bytes::copy_from_slice(buf)).is_ok());
        Poll::Ready(if sent {
            Ok(buf.len())
        } else {
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the gateway session is closed",
            ))
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.tx = None;
        this.carrier.poll_ended(cx).map(Ok)
    }
}

/// An HTTP/1.1 connection kept for one lane (sends, or polls) while its endpoint stays.
struct Client {
    inner: Arc<dyn Connector>,
    conn: Option<(Endpoint, SendRequest<Full<Bytes>>)>,
    scope: Option<Scope>,
}

impl Client {
    async fn send(
        mut self,
        to: Endpoint,
        req: HttpRequest,
        host: String,
    ) -> (Self, Result<HttpResponse, String>) {
        let mut reuse = None;
        if let Some((at, mut s)) = self.conn.take()
            && at == to
            && s.ready().await.is_ok()
        {
            reuse = Some(s);
        }
        let mut sender = match reuse {
            Some(s) => s,
            None => match tap::within(self.scope.clone(), self.inner.dial(&to)).await {
                Ok(stream) => match handshake(stream).await {
                    Ok(s) => s,
                    Err(e) => return (self, Err(e)),
                },
                Err(e) => return (self, Err(e.to_string())),
            },
        };
        let result = send_on(&mut sender, &req, &host).await;
        if result.is_ok() {
            self.conn = Some((to, sender));
        }
        (self, result)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    Send,
    Poll,
}

/// The task behind a [`Pipe`].
struct Bridge {
    inner: Arc<dyn Connector>,
    lifespan_s: u64,
    open: Open,
    host: String,
    /// Where requests go (the newest `GW-IP` / `X-MSN-Host`).
    at: Endpoint,
    /// The newest `SessionID`; `None` until the open is answered.
    sid: Option<String>,
    to_runner: mpsc::UnboundedSender<io::Result<Bytes>>,
    scope: Option<Scope>,
    /// Dropped with the bridge: the [`Pipe`]'s shutdown waits for that.
    _running: oneshot::Sender<()>,
}

impl Bridge {
    async fn run(
        mut self,
        mut from_runner: mpsc::UnboundedReceiver<Bytes>,
        first: SendRequest<Full<Bytes>>,
    ) {
        let mut out: Vec<u8> = Vec::new();
        let mut send_lane = Some(self.client(Some((self.at.clone(), first))));
        let mut poll_lane = Some(self.client(None));
        let mut tasks: JoinSet<(Lane, Client, Result<HttpResponse, String>)> = JoinSet::new();
        let mut runner_open = true;
        loop {
            let n = if runner_open {
                whole_prefix(&out)
            } else {
                out.len()
            };
            if n > 0
                && let Some(client) = send_lane.take()
            {
                let body: Vec<u8> = out.drain(..n).collect();
                let req = self.request(if self.sid.is_none() { "open" } else { "send" }, body);
                let (to, host) = (self.at.clone(), self.host.clone());
                let fresh = self.client(None);
                tasks.spawn(async move {
                    match tokio::time::timeout(SEND_TIMEOUT, client.send(to, req, host)).await {
                        Ok((c, r)) => (Lane::Send, c, r),
                        Err(_) => (
                            Lane::Send,
                            fresh,
                            Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())),
                        ),
                    }
                });
            }
            if runner_open
                && self.sid.is_some()
                && let Some(client) = poll_lane.take()
            {
                let req = self.request("poll", Vec::new());
                let (to, host) = (self.at.clone(), self.host.clone());
                let limit = Duration::from_secs(self.lifespan_s) + POLL_GRACE;
                let fresh = self.client(None);
                tasks.spawn(async move {
                    match tokio::time::timeout(limit, client.send(to, req, host)).await {
                        Ok((c, r)) => (Lane::Poll, c, r),
                        Err(_) => (
                            Lane::Poll,
                            fresh,
                            Err(format!(
                                "poll not answered within Lifespan + {} s",
                                POLL_GRACE.as_secs()
                            )),
                        ),
                    }
                });
            }
            if !runner_open && send_lane.is_some() && out.is_empty() {
                break;
            }
            tokio::select! {
                b = from_runner.recv(), if runner_open => match b {
                    Some(b) => out.extend_from_slice(&b),
                    None => runner_open = false,
                },
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    let Ok((lane, client, result)) = joined else {
                        self.fail("a gateway request task failed".into());
                        return;
                    };
                    match lane {
                        Lane::Send => send_lane = Some(client),
                        Lane::Poll => poll_lane = Some(client),
                    }
                    match self.absorb(lane, result) {
                        Ok(false) => {}
                        Ok(true) => return,
                        Err(m) => {
                            self.fail(m);
                            return;
                        }
                    }
                },
                else => break,
            }
        }
        // The runner closed its end: stop polling and end the session (RLWP `Action=close`).
        tasks.abort_all();
        if self.sid.is_some() {
            let req = self.request("close", Vec::new());
            let client = self.client(None);
            let _ = tokio::time::timeout(
                CLOSE_TIMEOUT,
                client.send(self.at.clone(), req, self.host.clone()),
            )
            .await;
        }
    }

    fn client(&self, conn: Option<(Endpoint, SendRequest<Full<Bytes>>)>) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            conn,
            scope: self.scope.clone(),
        }
    }

    fn request(&self, action: &str, body: Vec<u8>) -> HttpRequest {
        let sid = self.sid.as_deref().unwrap_or("");
        let target = match action {
            "open" => match self.open {
                Open::Classic => {
                    let ip = self
                        .host
                        .rsplit_once(':')
                        .map_or(self.host.as_str(), |(h, _)| h);
                    format!("{PATH}?Action=open&Server=NS&IP={ip}")
                }
                Open::Webclient => {
                    format!("{PATH}?Version=1&Protocol=mtp&Action=open&Server=NS&IP=none")
                }
            },
            "poll" => format!(
                "{PATH}?Action=poll&SessionID={sid}&Lifespan={}",
                self.lifespan_s
            ),
            "close" => format!("{PATH}?Action=close&SessionID={sid}"),
            _ => format!("{PATH}?SessionID={sid}"),
        };
        HttpRequest {
            method: "POST".into(),
            target,
            headers: vec![("Content-Type".into(), "application/x-msn-messenger".into())],
            body,
        }
    }

    /// Takes a response: follows SessionID and GW-IP, checks and delivers the body. `Ok(true)`
    /// when the session ended (`Session=close`).
    fn absorb(&mut self, lane: Lane, result: Result<HttpResponse, String>) -> Result<bool, String> {
        let what = match lane {
            Lane::Send => "send",
            Lane::Poll => "poll",
        };
        let r = result.map_err(|e| format!("gateway {what}: {e}"))?;
        if r.status != 200 {
            return Err(format!(
                "gateway {what} answered HTTP {} (body \"{}\")",
                r.status,
                escape(&r.body[..r.body.len().min(200)])
            ));
        }
        let m = r.messenger();
        if m.is_empty() {
            return Err(format!(
                "gateway {what} answer has no X-MSN-Messenger header"
            ));
        }
        let value = |key: &str| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let close = value("Session").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !close {
            let sid = value("SessionID")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    format!(
                        "gateway {what}: X-MSN-Messenger has no SessionID (\"{}\")",
                        r.header("X-MSN-Messenger").unwrap_or("")
                    )
                })?;
            self.sid = Some(sid);
            self.follow(value("GW-IP"), r.header("X-MSN-Host").map(str::to_owned));
        }
        let at = whole_prefix(&r.body);
        if at < r.body.len() {
            return Err(format!(
                "gateway {what}: the response body ends inside a command (bytes {at}..{} of the body: \"{}\"): a response must carry whole commands",
                r.body.len(),
                escape(&r.body[at..r.body.len().min(at + 120)])
            ));
        }
        if !r.body.is_empty() && self.to_runner.send(Ok(Bytes::from(r.body))).is_err() {
            return Ok(true);
        }
        Ok(close)
    }

    /// Sends later requests to the newest `GW-IP` (or `X-MSN-Host`).
    fn follow(&mut self, gw_ip: Option<String>, host: Option<String>) {
        let with_port = |s: &String| first_address(s).is_ok();
        let port = match &self.at {
            Endpoint::Address(a) => a.rsplit_once(':').map(|(_, p)| p.to_owned()),
            Endpoint::Service(_) => None,
        };
        let next = gw_ip
            .iter()
            .chain(host.iter())
            .find(|s| with_port(s))
            .cloned()
            .or_else(|| gw_ip.as_ref().zip(port).map(|(ip, p)| format!("{ip}:{p}")));
        if let Some(n) = next {
            self.at = Endpoint::Address(n);
        }
        if let Some(h) = host {
            self.host = h;
        }
    }

    fn fail(&self, message: String) {
        let _ = self
            .to_runner
            .send(Err(io::Error::new(io::ErrorKind::InvalidData, message)));
    }
}

/// The length of the whole commands at the start of `buf`; all of it when the codec rejects
/// something (the server judges bytes the codec cannot frame).
fn whole_prefix(buf: &[u8]) -> usize {
    let mut at = 0;
    while let Some(rest) = buf.get(at..).filter(|r| !r.is_empty()) {
        match msnp::parse(rest) {
            Ok(Status::Complete((_, n))) => at += n,
            Ok(Status::Incomplete(_)) => break,
            Err(_) => return buf.len(),
        }
    }
    at
}
