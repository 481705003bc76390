//! Recording TCP connections for the reports (`imspec run --pcap`, `--html`).
//!
//! [`Tap`] wraps a connector. While a [`Scope`] is set (the runner sets one around a
//! `connect`, an `http:` request, and the gateway transport carries it into its own requests),
//! every TCP stream it opens is wrapped in a [`Tapped`] stream that records each read and
//! write, with its time, into the scope's [`Capture`]: the exact bytes both ways, WebSocket
//! frames and HTTP included, as the operating system passed them. Without a scope, streams pass
//! through untouched.
//!
//! The records are plain data ([`Connection`], [`Chunk`]) that the JSON report carries and the
//! pcap writer (`report::pcap`) turns into TCP segments.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::{BoxFuture, BoxStream, Connector, Endpoint, TransportError};

/// Most bytes recorded per case (both ways, all connections); later bytes are counted only
/// (the connection is marked `truncated`).
pub const MAX_CAPTURE: usize = 32 << 20;

tokio::task_local! {
    static SCOPE: Scope;
}

/// Whom the connections opened inside a scope belong to.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Where the records go.
    pub capture: Arc<Capture>,
    /// The actor that opens them.
    pub actor: String,
    /// What the TCP stream carries: a protocol module's name, `websocket` or `http`.
    pub protocol: String,
}

/// Runs `f` with `scope` set (or without one).
pub async fn within<F: Future>(scope: Option<Scope>, f: F) -> F::Output {
    match scope {
        Some(s) => SCOPE.scope(s, f).await,
        None => f.await,
    }
}

/// The scope of the running task, if any.
pub fn current() -> Option<Scope> {
    SCOPE.try_with(Clone::clone).ok()
}

/// One way of a TCP connection.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Way {
    /// From imspec (the client) to the target.
    #[default]
    Send,
    /// From the target.
    Recv,
}

/// Bytes one read or write moved, or the end of one way.
#[derive(
    Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Chunk {
    /// Milliseconds since the case started.
    pub t_ms: f64,
    /// Which way.
    pub way: Way,
    /// The bytes, base64.
    #[serde(default, with = "b64")]
    #[schemars(with = "String")]
    pub raw: Vec<u8>,
    /// This way ended here (a shutdown of imspec's side, or the end of the target's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fin: bool,
}

/// One recorded TCP connection.
#[derive(
    Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Connection {
    /// Number within the case, from 1 (wire entries refer to it as `conn`).
    pub id: u32,
    /// The actor that opened it.
    pub actor: String,
    /// What it carries: `fetion`, `msnp`, `sip`, `msrp`, `websocket`, `http`.
    pub protocol: String,
    /// The service or address dialled.
    pub peer: String,
    /// imspec's side, `ip:port`.
    pub local: String,
    /// The target's side, `ip:port`.
    pub remote: String,
    /// When it was opened, in milliseconds since the case started.
    pub t_ms: f64,
    /// Reads and writes in the order they happened.
    pub chunks: Vec<Chunk>,
    /// Bytes past [`MAX_CAPTURE`] were not recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// The connections of one case.
#[derive(Debug)]
pub struct Capture {
    start: Instant,
    state: Mutex<(Vec<Connection>, usize)>,
}

impl Capture {
    /// A capture whose times count from `start`.
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            state: Mutex::new((Vec::new(), 0)),
        }
    }

    /// The id of the newest connection `actor` opened.
    pub fn latest(&self, actor: &str) -> Option<u32> {
        let g = lock(&self.state);
        g.0.iter().rev().find(|c| c.actor == actor).map(|c| c.id)
    }

    /// Moves the connections out.
    pub fn take(&self) -> Vec<Connection> {
        std::mem::take(&mut lock(&self.state).0)
    }

    fn open(&self, scope: &Scope, peer: String, local: SocketAddr, remote: SocketAddr) -> usize {
        let mut g = lock(&self.state);
        let t_ms = self.now_ms();
        let id = g.0.len();
        g.0.push(Connection {
            id: u32::try_from(id + 1).unwrap_or(u32::MAX),
            actor: scope.actor.clone(),
            protocol: scope.protocol.clone(),
            peer,
            local: local.to_string(),
            remote: remote.to_string(),
            t_ms,
            chunks: Vec::new(),
            truncated: false,
        });
        id
    }

    fn record(&self, conn: usize, way: Way, bytes: &[u8], fin: bool) {
        let mut g = lock(&self.state);
        // Read under the lock: the two halves of a connection record from different tasks, and
        // a connection's chunks must be in time order (the pcap orders its packets by time).
        let t_ms = self.now_ms();
        let (conns, total) = &mut *g;
        let Some(c) = conns.get_mut(conn) else {
            return;
        };
        if *total + bytes.len() > MAX_CAPTURE {
            c.truncated = true;
            return;
        }
        *total += bytes.len();
        c.chunks.push(Chunk {
            t_ms,
            way,
            raw: bytes.to_vec(),
            fin,
        });
    }

    fn now_ms(&self) -> f64 {
        (self.start.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
    }
}

/// A connector that records the TCP streams its inner connector opens inside a [`Scope`].
#[derive(Clone)]
pub struct Tap {
    inner: Arc<dyn Connector>,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tap")
    }
}

impl Tap {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Connector>) -> Self {
        Self { inner }
    }
}

impl Connector for Tap {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move { Ok(tap(self.inner.connect(to).await?, to)) })
    }

    fn dial<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move { Ok(tap(self.inner.dial(to).await?, to)) })
    }
}

/// Wraps a TCP `stream` into a recording one when a scope is set.
fn tap(stream: BoxStream, to: &Endpoint) -> BoxStream {
    let Some(scope) = current() else {
        return stream;
    };
    if !(&*stream as &dyn std::any::Any).is::<TcpStream>() {
        return stream;
    }
    let any: Box<dyn std::any::Any + Send> = stream;
    let Ok(tcp) = any.downcast::<TcpStream>() else {
        unreachable!("checked by is::<TcpStream>() just above");
    };
    let tcp = *tcp;
    let (Ok(local), Ok(remote)) = (tcp.local_addr(), tcp.peer_addr()) else {
        return Box::new(tcp);
    };
    let peer = match to {
        Endpoint::Service(s) => s.clone(),
        Endpoint::Address(a) => a.clone(),
    };
    let conn = scope.capture.open(&scope, peer, local, remote);
    let rec = Recorder {
        capture: scope.capture,
        conn,
    };
    let (rd, wr) = tcp.into_split();
    Box::new(Tapped {
        rd: TapRead {
            inner: rd,
            rec: rec.clone(),
            ended: false,
        },
        wr: TapWrite {
            inner: wr,
            rec,
            ended: false,
        },
        local,
        remote,
    })
}

#[derive(Clone, Debug)]
struct Recorder {
    capture: Arc<Capture>,
    conn: usize,
}

/// A recorded TCP stream.
#[derive(Debug)]
pub struct Tapped {
    rd: TapRead,
    wr: TapWrite,
    local: SocketAddr,
    remote: SocketAddr,
}

impl Tapped {
    /// Owned halves without a shared lock (as `TcpStream::into_split`).
    pub fn into_split(self) -> (TapRead, TapWrite) {
        (self.rd, self.wr)
    }

    /// imspec's side.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The target's side.
    pub fn peer_addr(&self) -> SocketAddr {
        self.remote
    }
}

/// The read half of a [`Tapped`] stream.
#[derive(Debug)]
pub struct TapRead {
    inner: OwnedReadHalf,
    rec: Recorder,
    ended: bool,
}

/// The write half of a [`Tapped`] stream.
#[derive(Debug)]
pub struct TapWrite {
    inner: OwnedWriteHalf,
    rec: Recorder,
    ended: bool,
}

impl AsyncRead for TapRead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let got = &buf.filled()[before..];
            if !got.is_empty() {
                this.rec
                    .capture
                    .record(this.rec.conn, Way::Recv, got, false);
            } else if buf.remaining() > 0 && !this.ended {
                this.ended = true;
                this.rec.capture.record(this.rec.conn, Way::Recv, &[], true);
            }
        }
        r
    }
}

impl AsyncWrite for TapWrite {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r
            && *n > 0
        {
            this.rec
                .capture
                .record(this.rec.conn, Way::Send, &buf[..*n], false);
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        if r.is_ready() && !this.ended {
            this.ended = true;
            this.rec.capture.record(this.rec.conn, Way::Send, &[], true);
        }
        r
    }
}

impl AsyncRead for Tapped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().rd).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tapped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().wr).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().wr).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().wr).poll_shutdown(cx)
    }
}

/// The local and remote address of a TCP stream, recorded or not.
pub fn socket_addrs(stream: &BoxStream) -> Option<(SocketAddr, SocketAddr)> {
    let any = &**stream as &dyn std::any::Any;
    if let Some(t) = any.downcast_ref::<TcpStream>() {
        return Some((t.local_addr().ok()?, t.peer_addr().ok()?));
    }
    any.downcast_ref::<Tapped>()
        .map(|t| (t.local_addr(), t.peer_addr()))
}

/// The read half of a stream.
pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of a stream.
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Splits a connection for the runner's read loop and its steps. `tokio::io::split` halves share
/// a lock, so the read loop's `recv` waits for the runner's `send`, and on loopback a `send`
/// also runs the peer's receive path: the read loop often blocked on it. A TCP stream splits
/// into owned halves without a lock, and so does a recorded one; other streams (in memory) use
/// `tokio::io::split`.
pub fn split(stream: BoxStream) -> (Reader, Writer) {
    let stream = match owned_halves(stream, Tapped::into_split) {
        Ok(halves) => return halves,
        Err(other) => other,
    };
    let stream = match owned_halves(stream, TcpStream::into_split) {
        Ok(halves) => return halves,
        Err(other) => other,
    };
    let (r, w) = tokio::io::split(stream);
    (Box::new(r), Box::new(w))
}

/// The halves `into_split` makes when `stream` is a `T`; the stream back otherwise.
fn owned_halves<T, R, W>(
    stream: BoxStream,
    into_split: fn(T) -> (R, W),
) -> Result<(Reader, Writer), BoxStream>
where
    T: 'static,
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    if !(&*stream as &dyn std::any::Any).is::<T>() {
        return Err(stream);
    }
    let any: Box<dyn std::any::Any + Send> = stream;
    let Ok(t) = any.downcast::<T>() else {
        unreachable!("checked by is::<T>() just above");
    };
    let (r, w) = into_split(*t);
    Ok((Box::new(r), Box::new(w)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serde for bytes as a base64 string.
pub mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    /// Serialises bytes as base64.
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64 into bytes.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

/// Serde for optional bytes as a base64 string.
pub mod b64_opt {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    /// Serialises bytes as base64.
    pub fn serialize<S: serde::Serializer, B: AsRef<[u8]>>(
        bytes: &Option<B>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Reads base64 into bytes.
    pub fn deserialize<'de, D: serde::Deserializer<'de>, B: From<Vec<u8>>>(
        d: D,
    ) -> Result<Option<B>, D::Error> {
        let s: Option<String> = serde::Deserialize::deserialize(d)?;
        s.map(|s| {
            STANDARD
                .decode(s)
                .map(B::from)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn records_both_ways_and_both_ends_inside_a_scope_only() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            for _ in 0..2 {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut b = [0u8; 4];
                s.read_exact(&mut b).await.unwrap();
                s.write_all(b"pong").await.unwrap();
            }
        });
        let services = [("x".to_owned(), addr)].into_iter().collect();
        let tap = Tap::new(Arc::new(super::super::tcp::Tcp::new(services)));
        let to = Endpoint::Service("x".into());
        let capture = Arc::new(Capture::new(Instant::now()));
        let scope = Scope {
            capture: Arc::clone(&capture),
            actor: "alice".into(),
            protocol: "msnp".into(),
        };
        let mut s = within(Some(scope), tap.connect(&to)).await.unwrap();
        let (local, remote) = socket_addrs(&s).unwrap();
        assert_eq!(remote, addr);
        s.write_all(b"ping").await.unwrap();
        let mut b = Vec::new();
        s.shutdown().await.unwrap();
        s.read_to_end(&mut b).await.unwrap();
        assert_eq!(b, b"pong");
        // Outside a scope nothing is recorded.
        let mut plain = tap.connect(&to).await.unwrap();
        plain.write_all(b"ping").await.unwrap();
        plain.shutdown().await.unwrap();
        plain.read_to_end(&mut Vec::new()).await.unwrap();
        server.await.unwrap();
        let conns = capture.take();
        assert_eq!(conns.len(), 1);
        let c = &conns[0];
        assert_eq!(
            (c.id, c.actor.as_str(), c.protocol.as_str()),
            (1, "alice", "msnp")
        );
        assert_eq!(
            (c.local.clone(), c.remote.clone()),
            (local.to_string(), addr.to_string())
        );
        let sent: Vec<u8> = c
            .chunks
            .iter()
            .filter(|k| k.way == Way::Send)
            .flat_map(|k| k.raw.clone())
            .collect();
        let got: Vec<u8> = c
            .chunks
            .iter()
            .filter(|k| k.way == Way::Recv)
            .flat_map(|k| k.raw.clone())
            .collect();
        assert_eq!(
            (sent.as_slice(), got.as_slice()),
            (&b"ping"[..], &b"pong"[..])
        );
        assert_eq!(c.chunks.iter().filter(|k| k.fin).count(), 2);
        assert!(c.chunks.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
        let json = serde_json::to_string(c).unwrap();
        assert_eq!(&serde_json::from_str::<Connection>(&json).unwrap(), c);
    }
}
