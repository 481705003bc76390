//! Reference-server benchmarks (issue 4, "Speed"): `cargo bench -p imspec-server --bench server`.
//!
//! * `fetion_relay`: one `M` through the chat server's relay, over loopback TCP: client A
//!   sends `M` on its chat connection, B receives the relayed `M` and answers `200`, A gets its
//!   `200`. Baselines in the same group: `echo` (a bare tokio server echoing the same `M`
//!   bytes back to A, the baseline) and `forward` (a bare tokio server passing bytes
//!   between A's and B's connections unparsed, with the same two clients as the relay: the
//!   same topology and client work without the server's protocol logic).
//! * `msnp_history`: paging a whole 10,000-message conversation with `GET
//!   MSGR\MESSAGESBYCONVERSATION` (the client parses each page and follows
//!   `messagessyncstate` until `hasmore` is false). The history is filled through
//!   [`Store::append_many`] before the server opens it: filled with `SDG`, each message would
//!   be a durable commit.
//!
//! `fetion_relay` runs twice: wall time, and process CPU time as `fetion_relay_cpu` (see
//! `support`: on a shared machine its ratios are the steadier ones).

use std::net::SocketAddr;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use imspec_codec::msnp::msgr::MessagesByConversationResponse;
use imspec_codec::msnp::payload::Payload;
use imspec_codec::sipc::digest::{FETION_DOMAIN, fetion_digest};
use imspec_codec::{Status, msnp, sipc};
use imspec_server::accounts::DEFAULT_PASSWORD;
use imspec_server::db::Open as _;
use imspec_server::store::{Store, Stored};
use imspec_server::{Server, ServerConfig, Service};
use support::{Clock, CpuTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

#[path = "../../harness/benches/support/mod.rs"]
mod support;

/// Seed 004's message body: 56 characters, 60 UTF-8 bytes.
const BODY: &str = "<Font Face='宋体' Color='-16777216' Size='10.5'>767</Font>";
/// Messages in the paged history.
const HISTORY: u64 = 10_000;

fn fetion_relay<M: Clock>(c: &mut Criterion<M>) {
    let rt = runtime();
    let server = rt
        .block_on(Server::start(ServerConfig {
            msnp: None,
            ..ServerConfig::local()
        }))
        .unwrap_or_else(|e| panic!("starting the reference server: {e}"));
    let mut relay = rt.block_on(relay_pair(&server));
    let echo_addr = rt.block_on(spawn_echo());
    let mut echo = rt.block_on(Conn::connect(echo_addr));
    let forward_addr = rt.block_on(spawn_forward());
    let mut forward = rt.block_on(forward_pair(forward_addr));

    let clock = M::new();

    let mut group = c.benchmark_group(format!("fetion_relay{}", M::SUFFIX));
    group.throughput(Throughput::Elements(1));
    group.bench_function("m_200/echo", |b| {
        b.iter_custom(|iters| {
            let started = clock.start();
            rt.block_on(async {
                for n in 0..iters {
                    let m = message(n);
                    echo.write(m.as_bytes()).await;
                    echo.read_exact(m.len()).await;
                }
            });
            clock.end(started)
        });
    });
    group.bench_function("m_200/forward", |b| {
        b.iter_custom(|iters| {
            let started = clock.start();
            rt.block_on(forward.round_trips(iters));
            clock.end(started)
        });
    });
    group.bench_function("m_200/relay", |b| {
        b.iter_custom(|iters| {
            let started = clock.start();
            rt.block_on(relay.round_trips(iters));
            clock.end(started)
        });
    });
    group.finish();
    drop((relay, echo, forward));
    rt.block_on(server.shutdown());
}

fn msnp_history(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill_history(dir.path(), "8:alice", "8:bob", HISTORY);
    let server = rt
        .block_on(Server::start(ServerConfig {
            fetion: None,
            data: Some(dir.path().to_path_buf()),
            ..ServerConfig::local()
        }))
        .unwrap_or_else(|e| panic!("starting the reference server: {e}"));
    let addr = server
        .addr(Service::Msnp)
        .unwrap_or_else(|| panic!("no msnp listener"));
    let mut alice = rt.block_on(MsnpClient::login(addr, "alice"));

    let mut group = c.benchmark_group("msnp_history");
    group.throughput(Throughput::Elements(HISTORY));
    group.sample_size(10);
    for page_size in [100u32, 1000] {
        group.bench_with_input(
            BenchmarkId::new("messagesbyconversation/page_size", page_size),
            &page_size,
            |b, &size| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let started = Instant::now();
                        for _ in 0..iters {
                            let (messages, pages) = alice.page_all("8:bob", size).await;
                            assert_eq!(messages, HISTORY);
                            assert_eq!(pages, HISTORY.div_ceil(u64::from(size)));
                        }
                        started.elapsed()
                    })
                });
            },
        );
    }
    group.finish();
    drop(alice);
    rt.block_on(server.shutdown());
}

criterion_group!(wall, fetion_relay, msnp_history);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime);
    targets = fetion_relay
}
criterion_main!(wall, cpu);

/// The runtime `imspec serve` uses (multi-threaded, one worker per core).
fn runtime() -> Runtime {
    Runtime::new().unwrap_or_else(|e| panic!("tokio runtime: {e}"))
}

/// A client's `M` on its chat connection, CSeq `n + 1`.
fn message(n: u64) -> String {
    format!(
        "M {FETION_DOMAIN} SIP-C/2.0\r\nF: alice\r\nI: 3\r\nQ: {} M\r\nC: text/html-fragment\r\nK: SaveHistory\r\nL: {}\r\n\r\n{BODY}",
        n + 1,
        BODY.len()
    )
}

/// One TCP connection with a read buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_nodelay(true).unwrap_or_else(|e| panic!("{e}"));
        Self {
            stream,
            buf: Vec::with_capacity(8 * 1024),
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
    }

    /// Reads until the buffer holds `n` bytes, then drops them.
    async fn read_exact(&mut self, n: usize) {
        while self.buf.len() < n {
            self.fill().await;
        }
        self.buf.drain(..n);
    }

    async fn fill(&mut self) {
        self.buf.reserve(8 * 1024);
        let read = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .unwrap_or_else(|e| panic!("read: {e}"));
        assert_ne!(read, 0, "the server closed the connection");
    }

    /// The next SIP-C message.
    async fn sipc(&mut self) -> sipc::Message<'static> {
        loop {
            match sipc::parse(&self.buf) {
                Ok(Status::Complete((m, n))) => {
                    let m = m.into_owned();
                    self.buf.drain(..n);
                    return m;
                }
                Ok(Status::Incomplete(_)) => self.fill().await,
                Err(e) => panic!("bad SIP-C from the server: {e:?}"),
            }
        }
    }

    /// The next SIP-C message, which must be a response with `status`.
    async fn expect_status(&mut self, status: u16) -> sipc::Message<'static> {
        let m = self.sipc().await;
        assert_eq!(m.status(), Some(status), "{m:?}");
        m
    }

    /// The next MSNP command (verb, trid, payload).
    async fn msnp(&mut self) -> (String, Option<u32>, Vec<u8>) {
        loop {
            match msnp::parse(&self.buf) {
                Ok(Status::Complete((c, n))) => {
                    let out = (c.verb.to_string(), c.trid, c.payload.to_vec());
                    self.buf.drain(..n);
                    return out;
                }
                Ok(Status::Incomplete(_)) => self.fill().await,
                Err(e) => panic!("bad MSNP from the server: {e:?}"),
            }
        }
    }
}

/// A and B's chat connections in one conversation, B answering every relayed `M` from a task.
struct RelayPair {
    a: Conn,
    b: tokio::task::JoinHandle<()>,
    /// The main-server connections, kept open as a client keeps them.
    _mains: Vec<Conn>,
}

impl RelayPair {
    /// `iters` messages from A, each waiting for its `200`.
    async fn round_trips(&mut self, iters: u64) {
        for n in 0..iters {
            self.a.write(message(n).as_bytes()).await;
            let ok = self.a.expect_status(200).await;
            assert_eq!(ok.header("Q"), Some(format!("{} M", n + 1).as_str()));
        }
    }
}

impl Drop for RelayPair {
    fn drop(&mut self) {
        self.b.abort();
    }
}

/// B's side of a relay: answer each `M` with `200 OK` echoing `F`, `I` and `Q` (as a client
/// does, and as `reply_to` in the scenarios).
fn spawn_answerer(mut b: Conn) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let m = b.sipc().await;
            if m.method().map(sipc::Method::as_str) != Some("M") {
                continue;
            }
            let reply = format!(
                "SIP-C/2.0 200 OK\r\nF: {}\r\nI: {}\r\nQ: {}\r\n\r\n",
                m.header("F").unwrap_or_default(),
                m.header("I").unwrap_or_default(),
                m.header("Q").unwrap_or_default()
            );
            b.write(reply.as_bytes()).await;
        }
    })
}

/// Logs A and B in, A starts a chat and invites B, both register on the chat server (seed
/// 004 up to the BN UserEntered pushes).
async fn relay_pair(server: &Server) -> RelayPair {
    let main = server
        .addr(Service::Fetion)
        .unwrap_or_else(|| panic!("no fetion listener"));
    let mut a_main = Conn::connect(main).await;
    let mut b_main = Conn::connect(main).await;
    fetion_login(&mut a_main, "alice").await;
    fetion_login(&mut b_main, "bob").await;

    a_main
        .write(
            format!(
                "S {FETION_DOMAIN} SIP-C/2.0\r\nF: alice\r\nI: 2\r\nQ: 1 S\r\nN: StartChat\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
    let start = a_main.expect_status(200).await;
    let (chat_addr, cred) = cs(start.header("A").unwrap_or_default());
    let mut a = Conn::connect(chat_addr).await;
    a.write(chat_register("alice", 3, &cred).as_bytes()).await;
    a.expect_status(200).await;

    let invite =
        format!("<args><contacts><contact uri=\"sip:bob@{FETION_DOMAIN}\" /></contacts></args>");
    a.write(
        format!(
            "S {FETION_DOMAIN} SIP-C/2.0\r\nF: alice\r\nI: 3\r\nQ: 2 S\r\nN: InviteBuddy\r\nL: {}\r\n\r\n{invite}",
            invite.len()
        )
        .as_bytes(),
    )
    .await;
    a.expect_status(200).await;
    let inv = b_main.sipc().await;
    assert_eq!(inv.method().map(sipc::Method::as_str), Some("I"), "{inv:?}");
    b_main
        .write(
            format!(
                "SIP-C/2.0 200 OK\r\nF: {}\r\nI: {}\r\nQ: {}\r\n\r\n",
                inv.header("F").unwrap_or_default(),
                inv.header("I").unwrap_or_default(),
                inv.header("Q").unwrap_or_default()
            )
            .as_bytes(),
        )
        .await;
    let (b_addr, b_cred) = cs(inv.header("A").unwrap_or_default());
    let mut b = Conn::connect(b_addr).await;
    b.write(chat_register("bob", 4, &b_cred).as_bytes()).await;
    b.expect_status(200).await;
    for conn in [&mut a, &mut b] {
        let bn = conn.sipc().await;
        assert_eq!(bn.header("N"), Some("Conversation"), "{bn:?}");
    }
    RelayPair {
        a,
        b: spawn_answerer(b),
        _mains: vec![a_main, b_main],
    }
}

/// `R` → `401` with a nonce → `R` with the digest → `200`.
async fn fetion_login(c: &mut Conn, sid: &str) {
    c.write(
        format!("R {FETION_DOMAIN} SIP-C/2.0\r\nF: {sid}\r\nI: 1\r\nQ: 1 R\r\n\r\n").as_bytes(),
    )
    .await;
    let challenge = c.expect_status(401).await;
    let w = challenge.header("W").unwrap_or_default();
    let nonce = quoted(w, "nonce=").unwrap_or_else(|| panic!("no nonce in {w}"));
    let response = fetion_digest(sid, FETION_DOMAIN, DEFAULT_PASSWORD, &nonce, "BENCH");
    c.write(
        format!("R {FETION_DOMAIN} SIP-C/2.0\r\nF: {sid}\r\nI: 1\r\nQ: 2 R\r\nA: Digest response=\"{response}\",cnonce=\"BENCH\"\r\n\r\n")
            .as_bytes(),
    )
    .await;
    c.expect_status(200).await;
}

fn chat_register(sid: &str, i: u32, cred: &str) -> String {
    format!(
        "R {FETION_DOMAIN} SIP-C/2.0\r\nF: {sid}\r\nI: {i}\r\nQ: 1 R\r\nA: TICKS auth=\"{cred}\"\r\nK: text/html-fragment\r\nK: multiparty\r\nK: nudge\r\n\r\n"
    )
}

/// `CS address="host:port[;…]",credential="…"` → (first address, credential).
fn cs(a: &str) -> (SocketAddr, String) {
    let addr = quoted(a, "address=").unwrap_or_else(|| panic!("no address in {a}"));
    let first = addr.split(';').next().unwrap_or_default();
    let cred = quoted(a, "credential=").unwrap_or_else(|| panic!("no credential in {a}"));
    (
        first
            .parse()
            .unwrap_or_else(|e| panic!("address {first}: {e}")),
        cred,
    )
}

/// The quoted value after `key` (`key"value"`).
fn quoted(text: &str, key: &str) -> Option<String> {
    let rest = text.get(text.find(key)? + key.len()..)?.strip_prefix('"')?;
    Some(rest.get(..rest.find('"')?)?.to_owned())
}

/// A bare tokio echo server: every byte read is written back.
async fn spawn_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match s.read(&mut buf).await {
                        Ok(n) if n > 0 => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                        _ => return,
                    }
                }
            });
        }
    });
    addr
}

/// A bare tokio forwarder: the first two connections are joined, each one's bytes are
/// written unparsed to the other.
async fn spawn_forward() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let (Ok((x, _)), Ok((y, _))) = (listener.accept().await, listener.accept().await) else {
            return;
        };
        let _ = (x.set_nodelay(true), y.set_nodelay(true));
        let (xr, xw) = x.into_split();
        let (yr, yw) = y.into_split();
        tokio::spawn(pipe(xr, yw));
        tokio::spawn(pipe(yr, xw));
    });
    addr
}

async fn pipe(mut from: impl AsyncRead + Unpin, mut to: tokio::net::tcp::OwnedWriteHalf) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(n) if n > 0 => {
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// A and B through the forwarder, B answering as in the relay.
async fn forward_pair(addr: SocketAddr) -> RelayPair {
    let a = Conn::connect(addr).await;
    let b = Conn::connect(addr).await;
    RelayPair {
        a,
        b: spawn_answerer(b),
        _mains: Vec::new(),
    }
}

/// Writes `n` messages between `me` and `peer` into the store at `dir` in one commit.
fn fill_history(dir: &std::path::Path, me: &str, peer: &str, n: u64) {
    let mut store = Store::open(dir).unwrap_or_else(|e| panic!("{e}"));
    let key = if me <= peer {
        format!("{me}|{peer}")
    } else {
        format!("{peer}|{me}")
    };
    let start = imspec_server::driver::now_ms() - n;
    let msgs = (0..n).map(|i| Stored {
        id: 0,
        arrival_ms: start + i,
        from: format!(
            "{};epid={{00000000-0000-0000-0000-000000000001}}",
            if i % 2 == 0 { me } else { peer }
        ),
        message_type: "Text".into(),
        content: format!("message {i}: the quick brown fox jumps over the lazy dog"),
        client_message_id: Some(i.to_string()),
    });
    let stored = store
        .append_many(&key, &[(me, peer), (peer, me)], msgs, start)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.len() as u64, n);
}

/// An MSNP24 client logged in and bound.
struct MsnpClient {
    conn: Conn,
    trid: u32,
    registration: String,
}

impl MsnpClient {
    /// `CNT`, `ATH` with the test ticket, `BND`.
    async fn login(addr: SocketAddr, name: &str) -> Self {
        let mut c = Self {
            conn: Conn::connect(addr).await,
            trid: 0,
            registration: String::new(),
        };
        c.command("CNT", "CON", "<connect><ver>2</ver></connect>")
            .await;
        c.command(
            "ATH",
            "CON\\USER",
            &format!("<user><ssl-compact-ticket>t={DEFAULT_PASSWORD}</ssl-compact-ticket><id>{name}</id></user>"),
        )
        .await;
        let bnd = c
            .command(
                "BND",
                "CON\\MSGR",
                "<msgr><ver>2</ver><client><name>bench</name><ver>1</ver></client><epid>{00000000-0000-0000-0000-000000000001}</epid></msgr>",
            )
            .await;
        let payload = Payload::parse(&bnd).unwrap_or_else(|e| panic!("{e:?}"));
        c.registration = payload
            .headers
            .get("Set-Registration")
            .unwrap_or_else(|| panic!("BND without Set-Registration"))
            .to_owned();
        c
    }

    /// Sends a payload command and returns its reply's payload (which must carry the verb).
    async fn command(&mut self, verb: &str, target: &str, body: &str) -> Vec<u8> {
        self.trid += 1;
        let mut payload = String::new();
        if !self.registration.is_empty() {
            payload.push_str(&format!("Registration: {}\r\n", self.registration));
        }
        payload.push_str("\r\n");
        payload.push_str(body);
        let line = format!(
            "{verb} {} {target} {}\r\n{payload}",
            self.trid,
            payload.len()
        );
        self.conn.write(line.as_bytes()).await;
        let (got, trid, payload) = self.conn.msnp().await;
        assert_eq!((got.as_str(), trid), (verb, Some(self.trid)));
        payload
    }

    /// Pages the whole conversation with `peer`; returns (messages, pages).
    async fn page_all(&mut self, peer: &str, size: u32) -> (u64, u64) {
        let (mut messages, mut pages, mut sync) = (0u64, 0u64, String::new());
        let mut last = u64::MAX;
        loop {
            let body = format!(
                "<messagesbyconversation><id>{peer}</id><start>0</start>{sync}<pagesize>{size}</pagesize></messagesbyconversation>"
            );
            let payload = self
                .command("GET", "MSGR\\MESSAGESBYCONVERSATION", &body)
                .await;
            let p = Payload::parse(&payload).unwrap_or_else(|e| panic!("{e:?}"));
            let xml = std::str::from_utf8(&p.body).unwrap_or_else(|e| panic!("{e}"));
            let page =
                MessagesByConversationResponse::parse(xml).unwrap_or_else(|e| panic!("{e:?}"));
            for m in &page.messages {
                assert!(m.message_id < last, "newest first, no duplicate");
                last = m.message_id;
            }
            messages += page.messages.len() as u64;
            pages += 1;
            if !page.has_more {
                return (messages, pages);
            }
            sync = format!(
                "<messagessyncstate>{}</messagessyncstate>",
                page.messages_sync_state
            );
        }
    }
}
