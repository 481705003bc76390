//! The only tokio code of the reference server: listeners, one task per connection that
//! feeds bytes to the protocol hub and writes what the hub outputs, and a timer per hub.
//!
//! Each hub sits behind a `std::sync::Mutex` held only for one synchronous `handle` and the
//! drain of its outputs (never across an `.await`). Outputs go to their connection's outbox
//! (`driver/outbox.rs`), an unbounded queue that its task writes, so a hub never waits on a
//! socket; a task's own answers do not wake it.
//!
//! Bounds: the hubs bound frame sizes (codec `Limits`); the driver bounds the number of open
//! connections ([`ServerConfig::max_connections`], extra connections are closed at once) and
//! idle time ([`ServerConfig::idle_timeout`], no byte from the peer for that long closes it).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::gateway::{self, http as gateway_http};
use super::leancloud;
use super::store::Store;
use super::{ConnId, Event, Hub, Mutant, Output, Service, fetion, msnp, sip};
use crate::accounts::Accounts;
use crate::db::Open as _;
pub use crate::now_ms;

pub(crate) mod outbox;
use outbox::Outbox;

/// What to start.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address of the Fetion main server; the chat server binds the same host, port 0.
    pub fetion: Option<SocketAddr>,
    /// Address of the MSNP server.
    pub msnp: Option<SocketAddr>,
    /// Address of the MSNP HTTP gateway (`gateway.dll`, in front of the same MSNP hub).
    pub gateway: Option<SocketAddr>,
    /// Address of the LeanCloud realtime WebSocket server.
    pub leancloud: Option<SocketAddr>,
    /// Address of the SIP server; its MSRP mailbox listener binds the same host, port 0.
    pub sip: Option<SocketAddr>,
    /// Directory of the durable store; `None` uses a fresh temporary directory.
    pub data: Option<PathBuf>,
    /// The rule to break, if any.
    pub mutant: Option<Mutant>,
    /// Who may log in.
    pub accounts: Accounts,
    /// Most open connections over all services.
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Seed of the hubs' generators; `None` seeds from the clock.
    pub seed: Option<u64>,
    /// How the Fetion main server logs connections in (`--fetion-login`).
    pub fetion_login: fetion::Login,
}

impl ServerConfig {
    /// Fetion, MSNP and the MSNP gateway on `127.0.0.1` ephemeral ports, temporary store,
    /// open accounts.
    pub fn local() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            fetion: Some(any),
            msnp: Some(any),
            gateway: Some(any),
            leancloud: Some(any),
            sip: Some(any),
            data: None,
            mutant: None,
            accounts: Accounts::open(),
            max_connections: 4096,
            idle_timeout: Duration::from_secs(300),
            seed: None,
            fetion_login: fetion::Login::Digest,
        }
    }

    /// The same configuration with a mutant.
    #[must_use]
    pub fn with_mutant(mut self, mutant: Option<Mutant>) -> Self {
        self.mutant = mutant;
        self
    }
}

/// A running server.
pub struct Server {
    addrs: HashMap<Service, SocketAddr>,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

struct Shared {
    fetion: Option<Mutex<fetion::Hub>>,
    msnp: Option<Mutex<msnp::Hub>>,
    gateway: Option<Arc<gateway_http::Front>>,
    leancloud: Option<Mutex<leancloud::Hub>>,
    sip: Option<Mutex<sip::Hub>>,
    /// Outbound connections a hub asked for, to the connector task.
    connect_tx: mpsc::UnboundedSender<Outbound>,
    conns: Mutex<HashMap<ConnId, Arc<Outbox>>>,
    next_conn: AtomicU64,
    open: AtomicUsize,
    max_connections: usize,
    idle_timeout: Duration,
    shutdown: watch::Receiver<bool>,
}

impl Server {
    /// Binds every configured service and starts serving.
    pub async fn start(config: ServerConfig) -> io::Result<Self> {
        let seed = config
            .seed
            .unwrap_or_else(|| now_ms() ^ u64::from(std::process::id()).rotate_left(32));
        let mut listeners = Vec::new();
        let mut addrs = HashMap::new();
        let mut fetion_hub = None;
        if let Some(addr) = config.fetion {
            let main = TcpListener::bind(addr).await?;
            let chat = TcpListener::bind(SocketAddr::new(addr.ip(), 0)).await?;
            let chat_addr = chat.local_addr()?;
            addrs.insert(Service::Fetion, main.local_addr()?);
            addrs.insert(Service::FetionChat, chat_addr);
            listeners.push((Service::Fetion, main));
            listeners.push((Service::FetionChat, chat));
            let cfg = fetion::Config {
                accounts: config.accounts.clone(),
                mutant: config.mutant,
                chat_address: chat_addr.to_string(),
                seed,
                limits: Default::default(),
                login: config.fetion_login,
            };
            fetion_hub = Some(Mutex::new(fetion::Hub::new(cfg)));
        }
        let mut msnp_hub = None;
        if let Some(addr) = config.msnp {
            let l = TcpListener::bind(addr).await?;
            addrs.insert(Service::Msnp, l.local_addr()?);
            listeners.push((Service::Msnp, l));
        }
        let mut gateway_front = None;
        if let Some(addr) = config.gateway {
            let l = TcpListener::bind(addr).await?;
            let bound = l.local_addr()?;
            addrs.insert(Service::MsnpGateway, bound);
            listeners.push((Service::MsnpGateway, l));
            gateway_front = Some(Arc::new(gateway_http::Front::new(gateway::Config {
                gw_ip: bound.ip().to_string(),
                host: bound.to_string(),
                session_timeout_s: gateway::SESSION_TIMEOUT_S,
                mutant: config.mutant,
                seed: seed.rotate_left(13),
            })));
        }
        if config.msnp.is_some() || config.gateway.is_some() {
            let store = match &config.data {
                Some(dir) => Store::open(dir),
                None => Store::temporary(),
            }
            .map_err(io::Error::other)?;
            let cfg = msnp::Config {
                accounts: config.accounts.clone(),
                mutant: config.mutant,
                seed: seed.rotate_left(7),
                limits: Default::default(),
            };
            msnp_hub = Some(Mutex::new(msnp::Hub::new(cfg, store)));
        }
        let mut sip_hub = None;
        if let Some(addr) = config.sip {
            let l = TcpListener::bind(addr).await?;
            let msrp = TcpListener::bind(SocketAddr::new(addr.ip(), 0)).await?;
            let (sip_addr, msrp_addr) = (l.local_addr()?, msrp.local_addr()?);
            addrs.insert(Service::Sip, sip_addr);
            addrs.insert(Service::Msrp, msrp_addr);
            listeners.push((Service::Sip, l));
            listeners.push((Service::Msrp, msrp));
            let mailbox = match &config.data {
                Some(dir) => sip::Mailbox::open(dir),
                None => sip::Mailbox::in_memory(),
            }
            .map_err(io::Error::other)?;
            let cfg = sip::Config {
                accounts: config.accounts.clone(),
                mutant: config.mutant,
                seed: seed.rotate_left(23),
                ..sip::Config::new(sip_addr.to_string(), msrp_addr.to_string())
            };
            sip_hub = Some(Mutex::new(sip::Hub::new(cfg, mailbox)));
        }
        let mut leancloud_hub = None;
        if let Some(addr) = config.leancloud {
            let l = TcpListener::bind(addr).await?;
            addrs.insert(Service::LeanCloud, l.local_addr()?);
            listeners.push((Service::LeanCloud, l));
            let store = match &config.data {
                Some(dir) => leancloud::Store::open(dir),
                None => leancloud::Store::in_memory(),
            }
            .map_err(io::Error::other)?;
            let cfg = leancloud::Config {
                mutant: config.mutant,
                seed: seed.rotate_left(29),
                limits: Default::default(),
            };
            leancloud_hub = Some(Mutex::new(leancloud::Hub::new(cfg, store)));
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (connect_tx, connect_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            fetion: fetion_hub,
            msnp: msnp_hub,
            gateway: gateway_front,
            leancloud: leancloud_hub,
            sip: sip_hub,
            connect_tx,
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            open: AtomicUsize::new(0),
            max_connections: config.max_connections,
            idle_timeout: config.idle_timeout,
            shutdown: shutdown_rx,
        });
        let mut tasks = Vec::new();
        for (service, listener) in listeners {
            tasks.push(tokio::spawn(accept_loop(shared.clone(), service, listener)));
        }
        if shared.fetion.is_some() || shared.sip.is_some() {
            tasks.push(tokio::spawn(timer_loop(shared.clone())));
        }
        if shared.sip.is_some() {
            tasks.push(tokio::spawn(connect_loop(shared.clone(), connect_rx)));
        }
        if let Some(front) = &shared.gateway {
            tasks.push(tokio::spawn(gateway_http::expire_loop(
                Arc::clone(front),
                shared.clone(),
                shared.shutdown.clone(),
            )));
        }
        Ok(Self {
            addrs,
            shared,
            shutdown,
            tasks,
        })
    }

    /// The bound address of `service`, if it runs.
    pub fn addr(&self, service: Service) -> Option<SocketAddr> {
        self.addrs.get(&service).copied()
    }

    /// Every running service and its address, in [`Service`] order.
    pub fn addrs(&self) -> Vec<(Service, SocketAddr)> {
        let mut v: Vec<_> = self.addrs.iter().map(|(s, a)| (*s, *a)).collect();
        v.sort();
        v
    }

    /// An in-memory connection to `service` (no socket): the returned stream is the client's
    /// end. `None` if the service does not run.
    pub fn connect_mem(&self, service: Service) -> Option<DuplexStream> {
        self.addrs.get(&service)?;
        let (client, server) = tokio::io::duplex(64 * 1024);
        spawn_conn(&self.shared, service, server, None);
        Some(client)
    }

    /// Stops accepting, closes every connection and waits for the listeners to stop.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

async fn accept_loop(shared: Arc<Shared>, service: Service, listener: TcpListener) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            // Out of descriptors and the like: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        spawn_conn(&shared, service, stream, Some(peer));
    }
}

/// Serves a new connection: HTTP for the gateway, the protocol hub for the others. `peer` is
/// the source address of an accepted TCP connection (`None` in memory).
fn spawn_conn<S>(shared: &Arc<Shared>, service: Service, stream: S, peer: Option<SocketAddr>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    match (service, &shared.gateway) {
        (Service::MsnpGateway, Some(front)) => {
            tokio::spawn(gateway_http::serve(
                Arc::clone(front),
                shared.clone(),
                stream,
                shared.shutdown.clone(),
            ));
        }
        (Service::LeanCloud, _) => {
            tokio::spawn(leancloud::ws::serve(shared.clone(), stream, now_ms));
        }
        _ => {
            tokio::spawn(serve_conn(shared.clone(), service, stream, peer));
        }
    }
}

async fn timer_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = shutdown.changed() => return,
        }
        let now = now_ms();
        let due = shared
            .fetion
            .as_ref()
            .and_then(|h| h.lock().ok()?.poll_timeout())
            .is_some_and(|t| t <= now);
        if due {
            shared.with_hub(Service::Fetion, |h| h.handle_timeout(now));
        }
        let due = shared
            .sip
            .as_ref()
            .and_then(|h| h.lock().ok()?.poll_timeout())
            .is_some_and(|t| t <= now);
        if due {
            shared.with_hub(Service::Sip, |h| h.handle_timeout(now));
        }
    }
}

/// A byte-stream [`Hub`] as a trait object (the driver picks the hub by service at run time;
/// `Hub` itself is not object-safe, its event type being generic).
trait StreamHub {
    fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>);
    fn poll_output(&mut self) -> Option<Output>;
    fn set_peer(&mut self, conn: ConnId, peer: SocketAddr);
    fn poll_connect(&mut self) -> Option<(ConnId, SocketAddr)>;
    fn handle_timeout(&mut self, now_ms: u64);
}

impl<H: for<'a> Hub<Event<'a> = Event<'a>>> StreamHub for H {
    fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>) {
        Hub::handle(self, now_ms, conn, event);
    }
    fn poll_output(&mut self) -> Option<Output> {
        Hub::poll_output(self)
    }
    fn set_peer(&mut self, conn: ConnId, peer: SocketAddr) {
        Hub::set_peer(self, conn, peer);
    }
    fn poll_connect(&mut self) -> Option<(ConnId, SocketAddr)> {
        Hub::poll_connect(self)
    }
    fn handle_timeout(&mut self, now_ms: u64) {
        Hub::handle_timeout(self, now_ms);
    }
}

/// An outbound connection: its id, where to, and the queue of what the hub already sent it.
type Outbound = (ConnId, SocketAddr, Arc<Outbox>);

impl Shared {
    /// A new connection's id and outbox, or `None` over the connection cap (the count of
    /// open connections stays up only for a granted one).
    fn add_conn(&self) -> Option<(ConnId, Arc<Outbox>)> {
        if self.open.fetch_add(1, Ordering::SeqCst) >= self.max_connections {
            self.open.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let outbox = Arc::new(Outbox::default());
        if let Ok(mut conns) = self.conns.lock() {
            conns.insert(id, Arc::clone(&outbox));
        }
        Some((id, outbox))
    }

    /// Runs `f` on the hub of `service`, then routes its outputs.
    ///
    /// The outputs are routed while the hub is still locked, so that each connection's outbox
    /// gets them in the order the hub made them, whichever task made them: routed after the
    /// lock's release, two tasks' outputs for a third connection could cross. The locks taken
    /// under the hub's (the connection table, an outbox, the gateway's session table) are
    /// never held while a hub is locked.
    fn with_hub(&self, service: Service, f: impl FnOnce(&mut dyn StreamHub)) {
        let run = |hub: &mut dyn StreamHub| {
            f(hub);
            self.route(hub);
        };
        match service {
            Service::Fetion | Service::FetionChat => {
                if let Some(Ok(mut h)) = self.fetion.as_ref().map(Mutex::lock) {
                    run(&mut *h);
                }
            }
            // The LeanCloud hub takes whole WebSocket messages: see `leancloud::ws::Host`.
            Service::LeanCloud => {}
            Service::Msnp | Service::MsnpGateway => {
                if let Some(Ok(mut h)) = self.msnp.as_ref().map(Mutex::lock) {
                    run(&mut *h);
                }
            }
            Service::Sip | Service::Msrp => {
                if let Some(Ok(mut h)) = self.sip.as_ref().map(Mutex::lock) {
                    run(&mut *h);
                }
            }
        }
    }

    /// Hands `hub`'s outputs to the connections' outboxes (or the gateway's sessions), and its
    /// outbound connection requests to the connect loop; the caller holds the hub's lock.
    fn route(&self, hub: &mut dyn StreamHub) {
        let mut for_gateway = Vec::new();
        {
            let Ok(mut conns) = self.conns.lock() else {
                return;
            };
            // An outbound connection's queue exists before any output for it is routed.
            while let Some((conn, addr)) = hub.poll_connect() {
                let outbox = Arc::new(Outbox::default());
                conns.insert(conn, Arc::clone(&outbox));
                let _ = self.connect_tx.send((conn, addr, outbox));
            }
            while let Some(o) = hub.poll_output() {
                let conn = match &o {
                    Output::Send { conn, .. } | Output::Close { conn } => *conn,
                };
                if let Some(outbox) = conns.get(&conn) {
                    outbox.push(o);
                } else if gateway::Table::owns(conn) {
                    for_gateway.push(o);
                }
            }
        }
        if let Some(front) = &self.gateway {
            for o in for_gateway {
                front.on_output(o);
            }
        }
    }
}

impl gateway_http::Hub for Shared {
    fn msnp(&self, conn: ConnId, event: Event<'_>) {
        self.with_hub(Service::Msnp, |h| h.handle(now_ms(), conn, event));
    }
}

impl leancloud::ws::Host for Shared {
    fn with_hub(&self, f: &mut dyn FnMut(&mut leancloud::Hub)) {
        // Routed under the hub's lock, as `Shared::with_hub` does, so that outputs keep the
        // hub's order across tasks.
        let Some(Ok(mut h)) = self.leancloud.as_ref().map(Mutex::lock) else {
            return;
        };
        f(&mut h);
        let Ok(conns) = self.conns.lock() else { return };
        while let Some(o) = h.poll_output() {
            let conn = match &o {
                Output::Send { conn, .. } | Output::Close { conn } => *conn,
            };
            if let Some(outbox) = conns.get(&conn) {
                outbox.push(o);
            }
        }
    }

    fn register(&self) -> Option<(ConnId, Arc<Outbox>)> {
        self.add_conn()
    }

    fn unregister(&self, id: ConnId) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&id);
        }
        self.open.fetch_sub(1, Ordering::SeqCst);
    }

    fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }
}

async fn serve_conn<S>(shared: Arc<Shared>, service: Service, stream: S, peer: Option<SocketAddr>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let Some((id, outbox)) = shared.add_conn() else {
        return;
    };
    shared.with_hub(service, |h| {
        h.handle(now_ms(), id, Event::Connected(service));
        if let Some(peer) = peer {
            h.set_peer(id, peer);
        }
    });
    run_conn(shared, service, id, outbox, stream).await;
}

/// Opens the outbound connections hubs ask for (SIP requests to a Contact that no open
/// connection reaches).
async fn connect_loop(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Outbound>) {
    while let Some((id, addr, queue)) = rx.recv().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let connect = tokio::net::TcpStream::connect(addr);
            let stream = match tokio::time::timeout(OUTBOUND_CONNECT_TIMEOUT, connect).await {
                Ok(Ok(stream)) => stream,
                _ => {
                    if let Ok(mut conns) = shared.conns.lock() {
                        conns.remove(&id);
                    }
                    shared.with_hub(Service::Sip, |h| h.handle(now_ms(), id, Event::Closed));
                    return;
                }
            };
            if shared.open.fetch_add(1, Ordering::SeqCst) >= shared.max_connections {
                shared.open.fetch_sub(1, Ordering::SeqCst);
                if let Ok(mut conns) = shared.conns.lock() {
                    conns.remove(&id);
                }
                shared.with_hub(Service::Sip, |h| h.handle(now_ms(), id, Event::Closed));
                return;
            }
            let _ = stream.set_nodelay(true);
            run_conn(shared, Service::Sip, id, queue, stream).await;
        });
    }
}

/// Writes `outputs` in order. `Some` when the connection is to end: a `Close` (with what
/// followed it) or a failed write (with nothing).
async fn write_outputs<W: AsyncWrite + Unpin>(
    wr: &mut W,
    outputs: impl IntoIterator<Item = Output>,
) -> Option<VecDeque<Output>> {
    let mut outputs = outputs.into_iter();
    while let Some(o) = outputs.next() {
        match o {
            Output::Send { bytes, .. } => {
                if wr.write_all(&bytes).await.is_err() {
                    return Some(VecDeque::new());
                }
            }
            Output::Close { .. } => return Some(outputs.collect()),
        }
    }
    None
}

/// How long an outbound TCP connect may take before the hub hears `Closed`.
const OUTBOUND_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Moves bytes between a connection and its hub until either side ends it.
async fn run_conn<S>(
    shared: Arc<Shared>,
    service: Service,
    id: ConnId,
    outbox: Arc<Outbox>,
    stream: S,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = vec![0u8; 16 * 1024];
    let mut shutdown = shared.shutdown.clone();
    // What followed a `Close` the hub asked for.
    let mut left = VecDeque::new();
    // What a hold hands over, written at once.
    let mut batch = VecDeque::new();
    loop {
        tokio::select! {
            read = tokio::time::timeout(shared.idle_timeout, rd.read(&mut buf)) => match read {
                Ok(Ok(n)) if n > 0 => {
                    let data = buf.get(..n).unwrap_or_default();
                    outbox.hold();
                    shared.with_hub(service, |h| h.handle(now_ms(), id, Event::Data(data)));
                    outbox.release(&mut batch);
                    if let Some(rest) = write_outputs(&mut wr, batch.drain(..)).await {
                        left = rest;
                        break;
                    }
                }
                _ => {
                    break;
                }
            },
            out = outbox.next() => {
                if let Some(rest) = write_outputs(&mut wr, [out]).await {
                    left = rest;
                    break;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    if let Ok(mut conns) = shared.conns.lock() {
        conns.remove(&id);
    }
    shared.with_hub(service, |h| h.handle(now_ms(), id, Event::Closed));
    // Flush what the hub queued after a close it asked for, up to another close.
    outbox.take_all(&mut left);
    for o in left {
        let Output::Send { bytes, .. } = o else { break };
        if wr.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = wr.shutdown().await;
    shared.open.fetch_sub(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;
    use tokio::net::TcpStream;

    /// The server of [`ServerConfig::local`], every service on a loopback port, seeded.
    async fn local_server(seed: u64) -> Server {
        Server::start(ServerConfig {
            seed: Some(seed),
            ..ServerConfig::local()
        })
        .await
        .unwrap()
    }

    async fn read_frame(r: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> String {
        loop {
            if let Ok(imspec_codec::Status::Complete((_, n))) = imspec_codec::sipc::parse_ref(buf) {
                let s = String::from_utf8(buf.drain(..n).collect()).unwrap();
                return s;
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(5), r.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "closed");
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// One TCP smoke test: the main server answers a login challenge over loopback, and an
    /// in-memory MSNP connection answers PNG; a peer's garbage closes only that peer.
    #[tokio::test]
    async fn driver_tcp_and_memory_smoke() {
        let server = local_server(1).await;
        let addr = server.addr(Service::Fetion).unwrap();
        assert_ne!(addr.port(), 0);
        assert!(server.addr(Service::FetionChat).is_some());
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"R fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 1\r\nQ: 1 R\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let reply = read_frame(&mut tcp, &mut buf).await;
        assert!(reply.starts_with("SIP-C/2.0 401 Unauthorized\r\nI: 1\r\nQ: 1 R\r\nW: Digest algorithm=\"MD5\",nonce=\""), "{reply}");

        let mut mem = tokio::io::BufReader::new(server.connect_mem(Service::Msnp).unwrap());
        mem.get_mut().write_all(b"PNG 5 CON 0\r\n").await.unwrap();
        let mut line = String::new();
        mem.read_line(&mut line).await.unwrap();
        assert_eq!(line, "PNG 5 CON 17\r\n");

        let mut bad = TcpStream::connect(server.addr(Service::Msnp).unwrap())
            .await
            .unwrap();
        bad.write_all(b"garbage garbage garbage\r\n").await.unwrap();
        let mut all = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), bad.read_to_end(&mut all))
            .await
            .unwrap()
            .unwrap();
        assert!(
            all.starts_with(b"200 0 CON "),
            "{:?}",
            String::from_utf8_lossy(&all)
        );
        tcp.write_all(b"R fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 2\r\nQ: 2 R\r\n\r\n")
            .await
            .unwrap();
        assert!(read_frame(&mut tcp, &mut buf).await.contains("I: 2\r\n"));
        server.shutdown().await;
    }

    /// Records, when the outbox wakes its task, whether the probed hub was locked then.
    struct HubLockedAtWake {
        shared: Arc<Shared>,
        is_locked: fn(&Shared) -> bool,
        locked: std::sync::Mutex<Vec<bool>>,
    }

    impl std::task::Wake for HubLockedAtWake {
        fn wake(self: Arc<Self>) {
            let locked = (self.is_locked)(&self.shared);
            self.locked.lock().unwrap().push(locked);
        }
    }

    fn would_block<T>(hub: Option<&Mutex<T>>) -> bool {
        matches!(
            hub.unwrap().try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        )
    }

    /// Runs `feed` while `outbox`'s task waits in `next`, with a waker that records whether
    /// the hub was locked (`is_locked`) at each wake. Returns those records and the output
    /// the task then gets.
    fn wakes_while(
        shared: &Arc<Shared>,
        is_locked: fn(&Shared) -> bool,
        outbox: &Outbox,
        feed: impl FnOnce(),
    ) -> (Vec<bool>, Output) {
        let probe = Arc::new(HubLockedAtWake {
            shared: Arc::clone(shared),
            is_locked,
            locked: std::sync::Mutex::new(Vec::new()),
        });
        let waker = std::task::Waker::from(Arc::clone(&probe));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut next = std::pin::pin!(outbox.next());
        assert!(next.as_mut().poll(&mut cx).is_pending());
        feed();
        let std::task::Poll::Ready(output) = next.as_mut().poll(&mut cx) else {
            panic!("no output queued");
        };
        let locked = std::mem::take(&mut *probe.locked.lock().unwrap());
        (locked, output)
    }

    /// A hub's outputs reach a connection's outbox while the hub is still locked: routed after
    /// the release, outputs of two tasks for a third connection could cross. The outbox's
    /// waker (its task waiting in `next`) looks at the hub's lock when the hub's answer to a
    /// bad request is pushed.
    #[tokio::test]
    async fn hub_outputs_are_routed_while_the_hub_is_locked() {
        let server = local_server(3).await;
        let shared = Arc::clone(&server.shared);
        let (id, outbox) = shared.add_conn().unwrap();
        shared.with_hub(Service::Fetion, |h| {
            h.handle(now_ms(), id, Event::Connected(Service::Fetion));
        });
        let (locked, answer) = wakes_while(
            &shared,
            |s| would_block(s.fetion.as_ref()),
            &outbox,
            || {
                shared.with_hub(Service::Fetion, |h| {
                    h.handle(now_ms(), id, Event::Data(b"not sip-c\r\n\r\n"));
                });
            },
        );
        assert_eq!(locked, [true]);
        let Output::Send { bytes, .. } = answer else {
            panic!("{answer:?}");
        };
        assert!(
            bytes.starts_with(b"SIP-C/2.0 400"),
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
        shared.with_hub(Service::Fetion, |h| h.handle(now_ms(), id, Event::Closed));
        server.shutdown().await;
    }

    /// The same for the LeanCloud hub, which the WebSocket task drives through
    /// `leancloud::ws::Host::with_hub`: its error answer to an undecodable frame is in the
    /// outbox before the hub is released, and the close follows the answer.
    #[tokio::test]
    async fn leancloud_outputs_are_routed_while_the_hub_is_locked() {
        use leancloud::ws::Host as _;
        let server = local_server(3).await;
        let shared = Arc::clone(&server.shared);
        let (id, outbox) = shared.register().unwrap();
        let proto = imspec_codec::leancloud::Subprotocol::parse("lc.protobuf2.3").unwrap();
        let lc =
            |f: &mut dyn FnMut(&mut leancloud::Hub)| leancloud::ws::Host::with_hub(&*shared, f);
        lc(&mut |h| h.handle(now_ms(), id, leancloud::Event::Connected(proto)));
        let (locked, answer) = wakes_while(
            &shared,
            |s| would_block(s.leancloud.as_ref()),
            &outbox,
            || {
                // A protobuf field key of field number 0, which no message has.
                lc(&mut |h| h.handle(now_ms(), id, leancloud::Event::Frame(b"\x00\x00")));
            },
        );
        assert_eq!(locked, [true]);
        let Output::Send { bytes, .. } = answer else {
            panic!("{answer:?}");
        };
        let answer = imspec_codec::leancloud::decode(&bytes, proto.format).unwrap();
        assert!(answer.error_message.is_some(), "{answer:?}");
        // The close was queued with the answer.
        let mut next = std::pin::pin!(outbox.next());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(matches!(
            next.as_mut().poll(&mut cx),
            std::task::Poll::Ready(Output::Close { .. })
        ));
        lc(&mut |h| h.handle(now_ms(), id, leancloud::Event::Closed));
        shared.unregister(id);
        server.shutdown().await;
    }

    /// A connection over the cap is closed at once; an idle one is closed after the timeout;
    /// the others keep working.
    #[tokio::test]
    async fn driver_bounds_connections_and_idle_time() {
        let config = ServerConfig {
            fetion: None,
            max_connections: 1,
            idle_timeout: Duration::from_millis(300),
            seed: Some(2),
            ..ServerConfig::local()
        };
        let server = Server::start(config).await.unwrap();
        assert!(server.connect_mem(Service::Fetion).is_none());
        let mut first = server.connect_mem(Service::Msnp).unwrap();
        first.write_all(b"PNG 1 CON 0\r\n").await.unwrap();
        let mut got = [0u8; 14];
        first.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"PNG 1 CON 17\r\n");
        let mut second = server.connect_mem(Service::Msnp).unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), second.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        assert!(rest.is_empty(), "over the cap: closed without a byte");
        // Idle: the first connection is closed after 300 ms of silence.
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(3), first.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rest.len(), 17, "the rest of the PNG reply, then EOF");
        server.shutdown().await;
    }
}
