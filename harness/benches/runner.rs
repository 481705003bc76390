//! Runner benchmarks (issue 3, "Speed"): `cargo bench -p imspec-harness --bench runner`.
//!
//! * `runner_step`: one `PNG` → `PNG` round trip driven by a scenario (a `send` step and an
//!   `expect` step) against one driven by a bare tokio client writing the same bytes and
//!   framing the reply with the codec, both over loopback TCP to the embedded reference
//!   server, in the same run. Each iteration is one connection and [`ROUND_TRIPS`] round
//!   trips, so the per-connection set-up is amortised alike on both sides. A third variant,
//!   `raw_reader_task`, is the bare client rebuilt in the runner's shape (a reader task per
//!   connection handing frames to the stepping task), to split the runner's cost into what
//!   that design costs and what the runner's own per-step work costs.
//!   The group runs twice: wall time, and process CPU time as `runner_step_cpu` (see
//!   `support`: on a shared machine its ratios are the steadier ones).
//! * `runner_concurrent`: [`CONCURRENT`] instances of one case run with `jobs` =
//!   [`CONCURRENT`] (as `imspec run --jobs 1000`); every instance must pass, and the peak
//!   number of simultaneously open connections is printed. `hold` keeps each instance
//!   logged in through a quiet period so all of them are open at the same moment (peak
//!   1000); `msnp/007` (one connection each) and `fetion/001` (four each) are suite cases.
//! * `--paired` (the README's speed table) and `--only CLIENT [BATCHES]` (one client alone,
//!   for a profiler) are described at their functions.

use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use imspec_codec::{Status, msnp};
use imspec_harness::runner::actor::lock;
use imspec_harness::runner::{self, BarrierMode, Profile, RunOptions, Verdict};
use imspec_harness::scenario::{self, Scenario};
use imspec_harness::transport::tcp::Tcp;
use imspec_harness::transport::{BoxFuture, BoxStream, Connector, Endpoint, TransportError};
use imspec_server::{Server, ServerConfig};
use support::{Clock, CpuTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::watch;

#[path = "../../codec/benches/support/paired.rs"]
mod paired;
mod support;

/// Round trips per measured iteration.
const ROUND_TRIPS: u64 = 500;
/// Scenario instances run at once.
const CONCURRENT: usize = 1000;
/// Pairs of batches timed by `--paired` (a batch is one connection and [`ROUND_TRIPS`]).
const PAIRS: usize = 101;

fn runner_step<M: Clock>(c: &mut Criterion<M>) {
    let png = Png::start();
    let clock = M::new();
    let mut group = c.benchmark_group(format!("runner_step{}", M::SUFFIX));
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    for (name, client) in [
        ("png_round_trip/raw_tokio", Client::Raw),
        ("png_round_trip/raw_reader_task", Client::ReaderTask),
        ("png_round_trip/runner", Client::Runner),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let started = clock.start();
                png.batches(client, iters);
                clock.end(started)
            });
        });
    }
    group.finish();
    png.shutdown();
}

fn runner_concurrent(c: &mut Criterion) {
    let rt = runtime();
    let server = rt
        .block_on(Server::start(ServerConfig {
            // Four connections per Fetion instance, plus slack.
            max_connections: 8 * CONCURRENT,
            ..ServerConfig::local()
        }))
        .unwrap_or_else(|e| panic!("starting the reference server: {e}"));
    let counter = Arc::new(Counting::new(Tcp::new(server_services(&server))));
    let connector: Arc<dyn Connector> = counter.clone();
    // The hold case waits out a quiet period (300 ms × scale) while logged in, so every
    // instance is open at the same moment; the suite cases run as they are.
    let hold = RunOptions {
        timeout_scale: 10.0,
        profile: Arc::new(Profile {
            barrier: BarrierMode::Quiet,
            ..Profile::default()
        }),
        ..RunOptions::default()
    };
    let cases = [
        ("hold", Arc::new(hold_case()), hold),
        (
            "msnp/007-png-answered",
            Arc::new(suite_case("msnp/007-png-answered")),
            RunOptions::default(),
        ),
        (
            "fetion/001-seed004-exchange",
            Arc::new(suite_case("fetion/001-seed004-exchange")),
            RunOptions::default(),
        ),
    ];

    let mut group = c.benchmark_group("runner_concurrent");
    group.sample_size(10);
    group.throughput(Throughput::Elements(CONCURRENT as u64));
    for (name, s, opts) in cases {
        group.bench_function(format!("{CONCURRENT}_at_once/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut peak = 0;
                for _ in 0..iters {
                    counter.reset_peak();
                    let cases = vec![s.clone(); CONCURRENT];
                    let started = Instant::now();
                    let results = rt.block_on(runner::run_all(
                        cases,
                        &opts,
                        connector.clone(),
                        CONCURRENT,
                        |_, _, _| {},
                    ));
                    total += started.elapsed();
                    peak = peak.max(counter.peak());
                    let failed: Vec<_> = results
                        .iter()
                        .filter(|r| r.verdict != Verdict::Pass)
                        .collect();
                    assert!(
                        failed.is_empty() && results.len() == CONCURRENT,
                        "{} of {CONCURRENT} instances of {name} did not pass; first: {:?}",
                        failed.len(),
                        failed.first().map(|r| &r.failure)
                    );
                }
                eprintln!(
                    "runner_concurrent/{name}: {iters} × {CONCURRENT} instances passed; \
                     peak simultaneously open connections {peak}"
                );
                total
            });
        });
    }
    group.finish();
    rt.block_on(server.shutdown());
}

criterion_group!(wall, runner_step, runner_concurrent);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime);
    targets = runner_step
}

fn main() {
    if std::env::args().any(|a| a == "--paired") {
        paired_main();
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--only") {
        only_main(args.get(at + 1..).unwrap_or_default());
        return;
    }
    wall();
    cpu();
    Criterion::default().configure_from_args().final_summary();
}

/// What `runner_step` and `--paired` measure against: the reference server on the runtime
/// `imspec run` uses, its MSNP address, and the PNG case with what the runner needs to run it.
struct Png {
    rt: Runtime,
    server: Server,
    msnp_addr: std::net::SocketAddr,
    connector: Arc<Tcp>,
    case: Arc<Scenario>,
    opts: RunOptions,
}

impl Png {
    fn start() -> Self {
        let rt = runtime();
        let server = rt
            .block_on(Server::start(ServerConfig::local()))
            .unwrap_or_else(|e| panic!("starting the reference server: {e}"));
        let services = server_services(&server);
        Self {
            msnp_addr: services["msnp"],
            connector: Arc::new(Tcp::new(services)),
            case: Arc::new(png_case(ROUND_TRIPS)),
            opts: RunOptions::default(),
            rt,
            server,
        }
    }

    /// Runs `n` batches of `client` one after the other, each in a task as `imspec run` runs
    /// cases.
    fn batches(&self, client: Client, n: u64) {
        for _ in 0..n {
            let batch: BoxFuture<'static, ()> = match client {
                Client::Raw => Box::pin(raw_png_round_trips(self.msnp_addr, ROUND_TRIPS)),
                Client::ReaderTask => {
                    Box::pin(raw_reader_task_round_trips(self.msnp_addr, ROUND_TRIPS))
                }
                Client::Runner => {
                    let (case, opts) = (self.case.clone(), self.opts.clone());
                    let connector = self.connector.clone();
                    Box::pin(async move {
                        let r = runner::run(&case, &opts, connector.as_ref()).await;
                        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
                    })
                }
            };
            self.rt
                .block_on(self.rt.spawn(batch))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    fn shutdown(self) {
        self.rt.block_on(self.server.shutdown());
    }
}

/// One batch: a connection and [`ROUND_TRIPS`] round trips, driven by a bare tokio client,
/// by the bare client in the runner's shape (a reader task), or by the runner.
#[derive(Clone, Copy)]
enum Client {
    Raw,
    ReaderTask,
    Runner,
}

/// `--paired`: the `runner_step` comparisons timed in alternating batches (see
/// `codec/benches/support/paired.rs`), wall time and process CPU time, runner and raw client
/// with a reader task against the raw client.
fn paired_main() {
    let png = Png::start();
    let raw = |n: u64| png.batches(Client::Raw, n);
    let reader_task = |n: u64| png.batches(Client::ReaderTask, n);
    let runner = |n: u64| png.batches(Client::Runner, n);
    let flavour = runtime_flavour();
    for (clock, subject, p) in [
        (
            "wall",
            "runner",
            paired::compare(PAIRS, 1, wall_ns(&raw), wall_ns(&runner)),
        ),
        (
            "cpu",
            "runner",
            paired::compare(PAIRS, 1, cpu_ns(&raw), cpu_ns(&runner)),
        ),
        (
            "wall",
            "raw_reader_task",
            paired::compare(PAIRS, 1, wall_ns(&raw), wall_ns(&reader_task)),
        ),
        (
            "cpu",
            "raw_reader_task",
            paired::compare(PAIRS, 1, cpu_ns(&raw), cpu_ns(&reader_task)),
        ),
    ] {
        println!(
            "runner_step/png_round_trip ({ROUND_TRIPS} round trips, {flavour}, {clock}) \
             {subject} vs raw_tokio: {p}"
        );
    }
    png.shutdown();
}

/// `--only CLIENT [BATCHES]`: runs `BATCHES` (default 200) batches of one client (`raw`,
/// `reader_task` or `runner`) and nothing else, for a profiler (`perf record`, `perf stat`)
/// to see that client alone; prints the wall time and the process's user and system time
/// per round trip.
fn only_main(args: &[String]) {
    let client = match args.first().map(String::as_str) {
        Some("raw") => Client::Raw,
        Some("reader_task") => Client::ReaderTask,
        Some("runner") => Client::Runner,
        other => panic!("--only takes raw, reader_task or runner, not {other:?}"),
    };
    let batches: u64 = args
        .get(1)
        .map_or(200, |n| n.parse().unwrap_or_else(|e| panic!("{n}: {e}")));
    let png = Png::start();
    png.batches(client, 1);
    let (user, system) = support::user_system_ns();
    let started = Instant::now();
    png.batches(client, batches);
    let wall = started.elapsed().as_nanos() as f64;
    let (user_after, system_after) = support::user_system_ns();
    let per = (batches * ROUND_TRIPS) as f64;
    println!(
        "{} ({}): per round trip {:.1} µs wall, {:.1} µs user, {:.1} µs system",
        args[0],
        runtime_flavour(),
        wall / per / 1e3,
        (user_after - user) as f64 / per / 1e3,
        (system_after - system) as f64 / per / 1e3,
    );
    png.shutdown();
}

/// Nanoseconds of wall time that `f(n)` takes.
fn wall_ns(f: &dyn Fn(u64)) -> impl FnMut(u64) -> f64 + '_ {
    move |n| {
        let started = Instant::now();
        f(n);
        started.elapsed().as_nanos() as f64
    }
}

/// Nanoseconds of process CPU time that `f(n)` takes. Read it on the multi-threaded runtime:
/// on a current-thread one the busy thread seldom switches, and its `schedstat` time then moves
/// in whole scheduler ticks (batches measured 8.00 and 12.00 ms exactly).
fn cpu_ns(f: &dyn Fn(u64)) -> impl FnMut(u64) -> f64 + '_ {
    move |n| {
        let started = support::cpu_ns();
        f(n);
        support::cpu_ns().saturating_sub(started) as f64
    }
}

/// `IMSPEC_BENCH_RUNTIME=current_thread` runs the benchmarks on a current-thread runtime
/// instead (client and server on one thread: no cross-thread wake-ups).
fn runtime_flavour() -> &'static str {
    match std::env::var("IMSPEC_BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => "current_thread",
        _ => "multi_thread",
    }
}

/// The runtime `imspec run` uses (multi-threaded, one worker per core), unless
/// `IMSPEC_BENCH_RUNTIME` asks for a current-thread one.
fn runtime() -> Runtime {
    let built = if runtime_flavour() == "current_thread" {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        Runtime::new()
    };
    built.unwrap_or_else(|e| panic!("tokio runtime: {e}"))
}

fn server_services(server: &Server) -> BTreeMap<String, std::net::SocketAddr> {
    server
        .addrs()
        .into_iter()
        .map(|(s, a)| (s.name().to_owned(), a))
        .collect()
}

/// `n` `PNG` round trips on one connection (PNG needs no login, docs/protocols/msnp.md §9.2).
fn png_case(n: u64) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scenarios/msnp/png.yaml");
    let text = format!(
        "title: PNG round trips
protocol: msnp
actors: {{ alice: msnp }}
steps:
  - connect: alice
  - repeat:
      times: {n}
      steps:
        - send: alice
          verb: PNG
          target: CON
        - expect: alice
          match: {{ verb: PNG, target: CON }}
"
    );
    scenario::load_str(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

/// Log in, one `PNG`, a quiet period (a barrier in `quiet` mode), one more `PNG`.
fn hold_case() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/msnp/900-bench-hold.yaml");
    let text = "title: hold a logged-in connection through a quiet period
protocol: msnp
actors: { alice: msnp }
steps:
  - connect: alice
  - include: login
    with: { actor: alice }
  - send: alice
    verb: PNG
  - expect: alice
    match: { verb: PNG }
  - expect_no_push: alice
  - send: alice
    verb: PNG
  - expect: alice
    match: { verb: PNG }
";
    scenario::load_str(&path, text).unwrap_or_else(|e| panic!("{e}"))
}

/// A case of the suite (`scenarios/<id>.yaml`).
fn suite_case(id: &str) -> Scenario {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{id}.yaml"));
    scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The baseline: what the runner's `send`/`expect` pair does on the wire, with nothing else.
/// The request bytes are those the runner's MSNP module builds (`PNG <trid> CON 0`).
async fn raw_png_round_trips(addr: std::net::SocketAddr, n: u64) {
    let mut s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    s.set_nodelay(true).unwrap_or_else(|e| panic!("{e}"));
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    for trid in 1..=n {
        s.write_all(format!("PNG {trid} CON 0\r\n").as_bytes())
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
        loop {
            if let Ok(Status::Complete((cmd, used))) = msnp::parse(&buf) {
                assert_eq!((cmd.verb.as_ref(), cmd.trid), ("PNG", Some(trid as u32)));
                buf.drain(..used);
                break;
            }
            buf.reserve(8 * 1024);
            let read = s
                .read_buf(&mut buf)
                .await
                .unwrap_or_else(|e| panic!("read: {e}"));
            assert_ne!(read, 0, "the server closed the connection");
        }
    }
}

/// The runner's shape with none of its work: a reader task frames replies into a shared
/// queue and wakes the stepping task through a `watch`, as `runner::actor` does. The gap
/// between this and `raw_tokio` is the price of that design; the gap between it and `runner`
/// is the runner's own per-step work.
async fn raw_reader_task_round_trips(addr: std::net::SocketAddr, n: u64) {
    let s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    s.set_nodelay(true).unwrap_or_else(|e| panic!("{e}"));
    let (mut rd, mut wr) = tokio::io::split(s);
    let inbox = Arc::new(Mutex::new(VecDeque::<Option<u32>>::new()));
    let (tx, mut rx) = watch::channel(0u64);
    let queue = inbox.clone();
    let reader = tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
        loop {
            let mut delivered = false;
            while let Ok(Status::Complete((cmd, used))) = msnp::parse(&buf) {
                lock(&queue).push_back(cmd.trid);
                buf.drain(..used);
                delivered = true;
            }
            if delivered {
                tx.send_modify(|v| *v += 1);
            }
            buf.reserve(8 * 1024);
            if rd.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        }
    });
    for trid in 1..=n {
        wr.write_all(format!("PNG {trid} CON 0\r\n").as_bytes())
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
        loop {
            rx.borrow_and_update();
            if let Some(got) = lock(&inbox).pop_front() {
                assert_eq!(got, Some(trid as u32));
                break;
            }
            rx.changed()
                .await
                .unwrap_or_else(|_| panic!("the reader ended"));
        }
    }
    reader.abort();
}

/// A connector that counts open connections and remembers the peak.
struct Counting {
    inner: Tcp,
    open: Arc<AtomicUsize>,
    peak: AtomicUsize,
}

impl Counting {
    fn new(inner: Tcp) -> Self {
        Self {
            inner,
            open: Arc::new(AtomicUsize::new(0)),
            peak: AtomicUsize::new(0),
        }
    }

    fn reset_peak(&self) {
        self.peak
            .store(self.open.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

impl Connector for Counting {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            let inner = self.inner.connect(to).await?;
            let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            Ok(Box::new(Counted {
                inner,
                open: self.open.clone(),
            }) as BoxStream)
        })
    }
}

/// A stream that decrements the open count when dropped.
struct Counted {
    inner: BoxStream,
    open: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.inner).poll_shutdown(cx)
    }
}
