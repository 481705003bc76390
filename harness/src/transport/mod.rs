//! Transports: how an actor's byte stream is opened. The framing loop that reads it lives in
//! `runner::actor` (one per connection, over the protocol module's `parse`).
//!
//! * [`tcp`]: tokio TCP to `host:port` (the target services given with `--target`);
//! * [`mem`]: an in-memory duplex handed to an in-process server (no sockets);
//! * [`gateway`]: MSNP over the HTTP gateway (hyper), wrapping either of the above;
//! * [`ws`]: the WebSocket client of LeanCloud realtime, run over either of the first two;
//! * [`tap`]: records the TCP streams of a connector for the reports.

pub mod gateway;
pub mod mem;
pub mod tap;
pub mod tcp;
pub mod ws;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

/// A connected byte stream (`Any`: [`tap::split`] splits a TCP stream into owned halves).
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + std::any::Any {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A boxed stream.
pub type BoxStream = Box<dyn Stream>;

/// The end of the task that carries a stream's writes (the gateway bridge, the WebSocket
/// pump). The stream's shutdown waits for it, so that a close completes once what was
/// written before it has gone out, as on a TCP stream, and the runner's `disconnect` step
/// cannot be overtaken by the next step's connection.
struct Carrier(Option<oneshot::Receiver<()>>);

impl Carrier {
    /// The token the task holds until it ends (dropping it is the signal), and the waiter.
    fn new() -> (oneshot::Sender<()>, Self) {
        let (running, ended) = oneshot::channel();
        (running, Self(Some(ended)))
    }

    /// Ready once the task has ended.
    fn poll_ended(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(ended) = &mut self.0 {
            if Pin::new(ended).poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.0 = None;
        }
        Poll::Ready(())
    }
}

/// A boxed future, for object-safe connectors.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where an actor connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A target service by name (`fetion`, `fetion-chat`, `msnp`, `msnp-gateway`).
    Service(String),
    /// An address learned at run time: `host:port`, or several separated by `;` (the first is used).
    Address(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Service(s) => write!(f, "service {s}"),
            Self::Address(a) => write!(f, "address {a}"),
        }
    }
}

/// Opening a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The target has no such service.
    #[error("no target for service `{0}` (give --target {0}=HOST:PORT)")]
    NoService(String),
    /// An address that is not `host:port`.
    #[error("bad address `{0}` (expected host:port)")]
    BadAddress(String),
    /// The connection was refused or timed out.
    #[error("cannot connect to {to}: {source}")]
    Unreachable {
        /// Where.
        to: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens connections for actors.
pub trait Connector: Send + Sync {
    /// Connects to `to`.
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>>;

    /// A raw byte stream to `to` for HTTP (the gateway transport's requests, `http:` steps):
    /// the same as [`Connector::connect`] unless a wrapper such as [`gateway::Gateway`] gives
    /// `connect` another meaning for that endpoint.
    fn dial<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        self.connect(to)
    }

    /// Whether `connect` *accepts* a connection from the peer instead of dialling it (client
    /// cases: imspec is the server, so a WebSocket actor runs the server handshake).
    fn accepts(&self) -> bool {
        false
    }
}

/// The first `host:port` of an address list (`a:1;b:2`).
pub fn first_address(addr: &str) -> Result<&str, TransportError> {
    let first = addr.split(';').next().unwrap_or("").trim();
    if first
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
    {
        Ok(first)
    } else {
        Err(TransportError::BadAddress(addr.to_owned()))
    }
}
