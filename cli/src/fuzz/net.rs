//! `imspec fuzz`: network fuzzing of a running server by replaying scenarios with one message
//! mutated per round.
//!
//! Each round runs one scenario through the ordinary runner, over a connector that records
//! every TCP connection with the harness's [`Tap`] (the records `imspec run --pcap` writes)
//! and rewrites one chosen message on its way out ([`super::mutate`]), or runs the scenario
//! with two adjacent sends swapped. A message is one write on a protocol's own stream (SIP-C,
//! MSNP, SIP, MSRP), one data frame of a LeanCloud WebSocket connection (its command mutated,
//! the frame masked again with its own key), or one MSNP write into the gateway transport
//! (which carries it in an HTTP request body). Because the runner still resolves
//! variables and captures, a round reaches the state the scenario builds (logged in, in a
//! chat, after a history page) before the mutated message goes out, as AFLNet replays a
//! recorded message sequence and mutates one message of it. After the round:
//!
//! * **protocol error**: bytes the server sent that the protocol's codec rejects, unless the
//!   offending bytes are ones the client sent: a server that copies a mutated header into its
//!   answer (RFC 3261 §8.2.6.2: a response copies the request's `Via`s, `From`, `Call-ID`,
//!   `CSeq`) does what the protocol requires, and those bytes are judged as the request's
//!   ([`echoed`]; counted in [`Report::echoes`], not a finding);
//! * **hang**: the mutated message was a whole request, yet no byte and no close came back
//!   within the timeout (and the scenario failed waiting on that connection);
//! * **crash**: a new connection to a service of the protocol is refused;
//! * **unresponsive**: the connection opens but a liveness scenario (a request or two that any
//!   server answers, even with an error) fails — the check boofuzz makes between test cases.
//!
//! A connection is judged in what it carries: the protocol's frames, WebSocket frames whose
//! messages must decode as LeanCloud commands, HTTP responses whose bodies must hold whole
//! MSNP commands.
//!
//! Each finding becomes a YAML scenario of raw `send` steps replaying the round's bytes, then
//! the check that failed ([`super::repro`]), with the round's connections as a pcapng file
//! beside it; it is loaded back and, when possible, run once to
//! record whether it reproduces. Against the embedded server (no `--target`), a crash or an
//! unresponsive server is restarted and fuzzing goes on; an external target that went down
//! ends the run. The run is bounded by rounds, seconds and findings, and connects to loopback
//! addresses only, including addresses a server names at run time.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::mutate::{self, Mutation};
use super::{frames, repro};
use imspec_codec::leancloud;
use imspec_harness::proto;
use imspec_harness::report::pcap;
use imspec_harness::runner::{self, CaseResult, Connection, RunOptions, Verdict, Way, actor::lock};
use imspec_harness::scenario::{self, ActorTarget, Protocol, Scenario, ScenarioError, StepKind};
use imspec_harness::transport::gateway::{self, Gateway};
use imspec_harness::transport::tap::{self, Tap};
use imspec_harness::transport::{
    BoxFuture, BoxStream, Connector, Endpoint, TransportError, first_address,
};
use imspec_server::{Mutant, Server, ServerConfig};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// What to fuzz and for how long.
#[derive(Clone, Debug)]
pub struct Options {
    /// Target services by name (`fetion`, `msnp`, `msnp-gateway`, `leancloud`, `sip`, …);
    /// empty: the embedded server.
    pub targets: BTreeMap<String, SocketAddr>,
    /// The embedded server's mutant (only without targets).
    pub mutant: Option<Mutant>,
    /// Scenario files or directories to replay.
    pub scenarios: Vec<PathBuf>,
    /// Most rounds.
    pub rounds: u64,
    /// Most wall time (checked between rounds; a round is cut short at the deadline).
    pub duration: Duration,
    /// Seed of every random choice (and of the embedded server).
    pub seed: u64,
    /// Where findings are written.
    pub out: PathBuf,
    /// Step timeout of every round, and the hang threshold.
    pub timeout: Duration,
    /// Stop after this many findings.
    pub max_findings: usize,
    /// The target's profile (accounts, params) for every replayed case.
    pub profile: Arc<runner::Profile>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            targets: BTreeMap::new(),
            mutant: None,
            scenarios: vec![PathBuf::from("scenarios")],
            rounds: 500,
            duration: Duration::from_secs(60),
            seed: 0,
            out: PathBuf::from("fuzz-findings"),
            profile: Arc::default(),
            timeout: Duration::from_millis(1000),
            max_findings: 10,
        }
    }
}

/// The kind of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A new connection is refused after the round.
    Crash,
    /// A whole request got neither a byte nor a close within the timeout, and the server
    /// still answers a new connection after the round (else the finding is the crash).
    Hang,
    /// The server sent bytes the codec rejects.
    ProtocolError,
    /// The liveness scenario fails after the round.
    Unresponsive,
}

impl Kind {
    /// The name used in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crash => "crash",
            Self::Hang => "hang",
            Self::ProtocolError => "protocol-error",
            Self::Unresponsive => "unresponsive",
        }
    }
}

/// One problem found, with its reproduction.
#[derive(Clone, Debug)]
pub struct Finding {
    /// What went wrong.
    pub kind: Kind,
    /// The scenario the round replayed.
    pub case: String,
    /// The round (1-based).
    pub round: u64,
    /// What the round changed.
    pub mutation: String,
    /// What was observed.
    pub detail: String,
    /// The reproduction scenario.
    pub path: PathBuf,
    /// The round's TCP connections as a pcapng file (beside the scenario).
    pub pcap: PathBuf,
    /// Whether running the reproduction failed as expected (`None`: not checked, the target
    /// is down).
    pub reproduced: Option<bool>,
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct Report {
    /// Rounds run.
    pub rounds: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Findings, in the order found.
    pub findings: Vec<Finding>,
    /// Findings not written again because an earlier one had the same kind and mutation.
    pub duplicates: u64,
    /// Server bytes the codec rejects that are the client's own (mutated) bytes echoed back:
    /// judged as the request's, not a finding.
    pub echoes: u64,
    /// Why the run stopped.
    pub stopped: String,
}

/// Why fuzzing could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario does not load.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Bad options.
    #[error("{0}")]
    Usage(String),
    /// A target cannot be reached before fuzzing starts.
    #[error("{0}")]
    Unreachable(String),
    /// The embedded server or the output folder failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Fuzzes until a bound is reached; `progress` gets a line per finding and per 50 rounds.
pub async fn fuzz(opts: &Options, mut progress: impl FnMut(&str)) -> Result<Report, Error> {
    let started = Instant::now();
    if let Some((name, addr)) = opts.targets.iter().find(|(_, a)| !a.ip().is_loopback()) {
        return Err(Error::Usage(format!(
            "target {name} at {addr} is not a loopback address: imspec fuzz only attacks local servers"
        )));
    }
    if opts.mutant.is_some() && !opts.targets.is_empty() {
        return Err(Error::Usage(
            "--mutant applies to the embedded server; start the target with `imspec serve --mutant` instead".into(),
        ));
    }
    let mut target = Target::start(opts).await?;
    let files = scenario::discover(&opts.scenarios)?;
    let mut cases = Vec::new();
    for f in files {
        let s = scenario::load(&f)?;
        if target.serves(&s) && replayable(&s) && !s.is_client_case() {
            cases.push(s);
        }
    }
    if cases.is_empty() {
        return Err(Error::Usage(
            "no scenario of a targeted protocol to replay".into(),
        ));
    }
    std::fs::create_dir_all(&opts.out)?;
    let mut fuzzer = Fuzzer {
        opts,
        rng: opts.seed ^ 0x2545_f491_4f6c_dd1d,
        log: Arc::new(Mutex::new(Log::default())),
        seen: BTreeSet::new(),
    };
    // Baseline: which messages each case sends, per connection.
    let mut plans: Vec<(Scenario, Vec<(usize, usize)>)> = Vec::new();
    for case in cases {
        let (_, log) = fuzzer.round(&target, &case, None).await;
        let messages: Vec<(usize, usize)> = log
            .streams
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| (0..n).map(move |m| (c, m)))
            .collect();
        if !messages.is_empty() {
            plans.push((case, messages));
        }
    }
    let mut report = Report {
        rounds: 0,
        elapsed: Duration::ZERO,
        findings: Vec::new(),
        duplicates: 0,
        echoes: 0,
        stopped: String::new(),
    };
    let deadline = started + opts.duration;
    report.stopped = loop {
        if report.rounds >= opts.rounds {
            break format!("{} rounds done", report.rounds);
        }
        if Instant::now() >= deadline {
            break format!("{} s elapsed", opts.duration.as_secs_f64());
        }
        if report.findings.len() >= opts.max_findings {
            break format!("{} findings", report.findings.len());
        }
        let Some((case, messages)) = plans.get(fuzzer.below(plans.len())) else {
            break "nothing to replay".into();
        };
        report.rounds += 1;
        let round = report.rounds;
        // Mostly one message mutated; sometimes two adjacent sends swapped.
        let swapped = if fuzzer.below(10) == 0 {
            swap_adjacent_sends(case, fuzzer.next())
        } else {
            None
        };
        let (played, plan, mutation) = match swapped {
            Some((s, what)) => (s, None, what),
            None => {
                let (c, m) = messages[fuzzer.below(messages.len())];
                let mutation = Mutation::pick(fuzzer.next());
                (case.clone(), Some((c, m, mutation)), String::new())
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now()) + opts.timeout * 2;
        let (result, log) =
            match tokio::time::timeout(remaining, fuzzer.round(&target, &played, plan)).await {
                Ok(r) => r,
                Err(_) => break format!("{} s elapsed", opts.duration.as_secs_f64()),
            };
        let mutation = log.mutation().unwrap_or(mutation);
        let mut found: Vec<(Kind, String, repro::Tail)> = Vec::new();
        let (errors, echoes) = fuzzer.protocol_errors(&played, &log);
        found.extend(errors);
        report.echoes += echoes;
        let live = target.liveness(&fuzzer, &played).await;
        // A server that is down after the round explains an unanswered request: the crash is
        // the finding, whether the dying connection closed before the runner gave up waiting
        // (a loaded machine) or after. Only a live server's silence is a hang.
        if live.is_ok() {
            found.extend(fuzzer.hang(&log, &result));
        }
        let down = match live {
            Ok(()) => None,
            Err((kind, detail)) => {
                found.push((kind, detail, repro::Tail::Liveness));
                Some(kind)
            }
        };
        for (kind, detail, tail) in found {
            let key = format!("{}:{}", kind.name(), signature(&mutation));
            if !fuzzer.seen.insert(key) {
                report.duplicates += 1;
                continue;
            }
            let slug: String = played
                .id
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let path = opts.out.join(format!(
                "{}-{}-r{round}.yaml",
                kind.name(),
                slug.trim_matches('-')
            ));
            let text = repro::scenario(&repro::Draft {
                kind,
                case: &played,
                round,
                seed: opts.seed,
                mutation: &mutation,
                detail: &detail,
                log: &log,
                services: &target.services,
                service: &checked_service(&played),
                mutated: log
                    .mutated
                    .as_ref()
                    .map(|m| (m.actor.as_str(), m.bytes.as_slice())),
                tail,
                timeout: opts.timeout,
            });
            std::fs::write(&path, &text)?;
            // The round's TCP connections, as `imspec run --pcap` writes them.
            let pcap_path = path.with_extension("pcapng");
            std::fs::write(&pcap_path, log.pcapng(&played))?;
            // A reproduction that does not load is a bug here, not a finding.
            let repro_case = scenario::load(&path)?;
            let reproduced = target.reproduce(&repro_case, &fuzzer, kind).await?;
            progress(&format!(
                "round {round}: {} in {} ({mutation}): {detail} -> {}{}",
                kind.name(),
                played.id,
                path.display(),
                match reproduced {
                    Some(true) => ", reproduced",
                    Some(false) => ", did not reproduce",
                    None => "",
                }
            ));
            report.findings.push(Finding {
                kind,
                case: played.id.clone(),
                round,
                mutation: mutation.clone(),
                detail,
                path,
                pcap: pcap_path,
                reproduced,
            });
        }
        if down.is_some() && !target.restart().await? {
            break "the target is down".into();
        }
        if round.is_multiple_of(50) {
            progress(&format!(
                "{round} rounds, {} findings",
                report.findings.len()
            ));
        }
    };
    target.stop().await;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The fuzzing state shared by the rounds.
struct Fuzzer<'o> {
    opts: &'o Options,
    rng: u64,
    log: Arc<Mutex<Log>>,
    /// Signatures of findings already written.
    seen: BTreeSet<String>,
}

impl Fuzzer<'_> {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Runs `case` once with `plan` (connection, message, mutation) applied.
    async fn round(
        &self,
        target: &Target,
        case: &Scenario,
        plan: Option<(usize, usize, Mutation)>,
    ) -> (CaseResult, Log) {
        *lock(&self.log) = Log {
            protocol: Some(case.protocol),
            plan,
            ..Log::default()
        };
        let connector = Recording::new(target.services.clone(), Arc::clone(&self.log));
        let mut result = runner::run(case, &self.run_options(case), &connector).await;
        let mut log = std::mem::take(&mut *lock(&self.log));
        log.ended = Some(Instant::now());
        log.connections = std::mem::take(&mut result.connections);
        log.started_us = result.started_us;
        (result, log)
    }

    fn run_options(&self, case: &Scenario) -> RunOptions {
        RunOptions {
            timeout_scale: self.opts.timeout.as_secs_f64() * 1000.0 / case.timeout_ms.max(1) as f64,
            profile: Arc::clone(&self.opts.profile),
            // Every TCP connection recorded by the connector's `Tap`.
            capture: true,
            ..RunOptions::default()
        }
    }

    /// Server bytes the codec rejects, per connection, and how many rejections were bytes
    /// the client sent, echoed ([`echoed`]). A connection is judged in what it carries: the
    /// protocol's frames; WebSocket frames holding LeanCloud commands after the handshake;
    /// HTTP responses whose bodies hold whole MSNP commands (docs/protocols/gateway.md §3.2).
    fn protocol_errors(
        &self,
        case: &Scenario,
        log: &Log,
    ) -> (Vec<(Kind, String, repro::Tail)>, u64) {
        let p = case.protocol.module();
        let mut out = Vec::new();
        let mut echoes = 0;
        let sent: Vec<Vec<u8>> = log
            .connections
            .iter()
            .map(|c| way_bytes(c, Way::Send))
            .collect();
        let sent: Vec<&[u8]> = sent.iter().map(Vec::as_slice).collect();
        for conn in &log.connections {
            let received = way_bytes(conn, Way::Recv);
            let closed = conn.chunks.iter().any(|k| k.way == Way::Recv && k.fin);
            let tail = repro::Tail::Valid {
                actor: conn.actor.clone(),
                closed,
            };
            let judged = match conn.protocol.as_str() {
                "websocket" => websocket_error(&received, closed),
                "http" => http_error(&received, closed),
                name => {
                    let p = if name == "msrp" {
                        proto::msrp::module()
                    } else {
                        p
                    };
                    stream_error(p, &received, closed)
                }
            };
            let Some((at, what)) = judged else {
                continue;
            };
            if let Some(at) = at
                && echoed(&received, at, &sent)
            {
                echoes += 1;
                continue;
            }
            out.push((
                Kind::ProtocolError,
                format!("connection {} ({}): {what}", conn.id, conn.actor),
                tail,
            ));
        }
        (out, echoes)
    }

    /// The mutated message was a whole request and nothing came back in time.
    fn hang(&self, log: &Log, result: &CaseResult) -> Option<(Kind, String, repro::Tail)> {
        let m = log.mutated.as_ref()?;
        if !m.owes_reply || m.answered {
            return None;
        }
        let waited = log.ended?.saturating_duration_since(m.at);
        // The scenario itself must have given up waiting on this connection (a reply can be
        // legitimately held back for another connection, like a Fetion relay).
        let actor = &m.actor;
        let waited_here = result.failure.as_ref().is_some_and(|f| {
            f.action.ends_with(&format!(" {actor}")) && f.reason.contains("within")
        });
        (waited >= self.opts.timeout && waited_here).then(|| {
            (
                Kind::Hang,
                format!(
                    "connection {actor}: no reply and no close within {} ms of `{}`",
                    self.opts.timeout.as_millis(),
                    proto::first_line(&m.bytes)
                ),
                repro::Tail::Reply {
                    actor: actor.clone(),
                    bytes: m.bytes.clone(),
                },
            )
        })
    }
}

/// One way's bytes of a recorded connection.
pub fn way_bytes(c: &Connection, way: Way) -> Vec<u8> {
    c.chunks
        .iter()
        .filter(|k| k.way == way)
        .flat_map(|k| k.raw.iter().copied())
        .collect()
}

/// The first problem in a stream of `p`'s frames: (offset of the rejected byte, if the codec
/// rejected one; what).
fn stream_error(
    p: &'static dyn proto::Protocol,
    received: &[u8],
    closed: bool,
) -> Option<(Option<usize>, String)> {
    let mut at = 0;
    while at < received.len() {
        match p.parse(&received[at..]) {
            Ok(imspec_codec::Status::Complete((_, n))) => at += n,
            Ok(imspec_codec::Status::Incomplete(_)) => {
                return closed.then(|| {
                    (
                        None,
                        format!(
                            "the server closed inside a frame at byte {}: \"{}\"",
                            received.len(),
                            short(&received[at..])
                        ),
                    )
                });
            }
            Err(e) => {
                return Some((
                    Some(at + e.offset()),
                    format!(
                        "byte {}: {} in \"{}\"",
                        at + e.offset(),
                        e.kind(),
                        short(&received[at..])
                    ),
                ));
            }
        }
    }
    None
}

/// The first problem in a WebSocket server's stream: the `101` answer, then unmasked frames
/// whose data messages decode as LeanCloud commands.
fn websocket_error(received: &[u8], closed: bool) -> Option<(Option<usize>, String)> {
    let (heads, rest) = frames::http_messages(Way::Recv, received);
    let Some(head) = heads.first() else {
        return match rest {
            frames::Rest::Bad(at, why) => Some((Some(at), format!("handshake answer: {why}"))),
            _ => None,
        };
    };
    if head.first != "101" {
        // A refused handshake: no frames follow.
        return None;
    }
    let mut at = head.end - head.body.len();
    let mut message: Vec<u8> = Vec::new();
    let mut text = false;
    while at < received.len() {
        let f = match frames::frame(&received[at..]) {
            Ok(Some(f)) => f,
            Ok(None) => {
                return closed.then(|| {
                    (
                        None,
                        format!(
                            "the server closed inside a frame at byte {}",
                            received.len()
                        ),
                    )
                });
            }
            Err(e) => return Some((Some(at), format!("byte {at}: not a WebSocket frame: {e}"))),
        };
        if f.header.mask.is_some() {
            return Some((None, format!("byte {at}: a masked frame from the server")));
        }
        match f.header.opcode {
            OpCode::Data(Data::Text) => {
                text = true;
                message = f.payload;
            }
            OpCode::Data(Data::Binary) => {
                text = false;
                message = f.payload;
            }
            OpCode::Data(Data::Continue) => message.extend_from_slice(&f.payload),
            OpCode::Data(Data::Reserved(c)) | OpCode::Control(Control::Reserved(c)) => {
                return Some((None, format!("byte {at}: reserved opcode {c}")));
            }
            OpCode::Control(_) => {
                at += f.len;
                continue;
            }
        }
        if f.header.is_final {
            let format = if text {
                leancloud::Format::Proto2Base64
            } else {
                leancloud::Format::Protobuf2
            };
            if let Err(e) = leancloud::decode(&message, format) {
                return Some((
                    None,
                    format!(
                        "the message ending at byte {}: {} at byte {} of \"{}\"",
                        at + f.len,
                        e.kind(),
                        e.offset(),
                        short(&message)
                    ),
                ));
            }
        }
        at += f.len;
    }
    None
}

/// The first problem in a gateway's stream of HTTP responses: a response that is not HTTP,
/// or a body that is not whole MSNP commands.
fn http_error(received: &[u8], closed: bool) -> Option<(Option<usize>, String)> {
    let (responses, rest) = frames::http_messages(Way::Recv, received);
    for r in &responses {
        if r.chunked {
            continue;
        }
        let start = r.end - r.body.len();
        if let Some((at, what)) = stream_error(&proto::msnp::Msnp, &r.body, true) {
            return Some((
                at.map(|a| start + a),
                format!("HTTP {} body: {what}", r.first),
            ));
        }
    }
    match rest {
        frames::Rest::None => None,
        frames::Rest::Incomplete(at) => closed.then(|| {
            (
                None,
                format!("the server closed inside a response at byte {at}"),
            )
        }),
        frames::Rest::Bad(at, why) => Some((Some(at), format!("byte {at}: {why}"))),
    }
}

/// Whether the byte at `at` of `received`, which the codec rejects, is one the client sent:
/// the line around it (or, when the error is in the value, the value from the colon on)
/// appears byte for byte in a message of the round. Servers copy request headers into
/// responses (RFC 3261 §8.2.6.2 `Via`/`From`/`Call-ID`/`CSeq`, SIP-C `I`/`Q`, MSNP's TrID
/// and target), and may write a copied header under another name form (`v:` for `Via:`).
pub fn echoed(received: &[u8], at: usize, sent: &[&[u8]]) -> bool {
    let at = at.min(received.len().saturating_sub(1));
    let start = received[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = received[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(received.len(), |i| at + i);
    let mut line = &received[start..end];
    if line.last() == Some(&b'\r') && start + line.len() > at + 1 {
        line = &line[..line.len() - 1];
    }
    // The value from the colon on, when the error lies there.
    let value = line
        .iter()
        .position(|&b| b == b':')
        .filter(|&colon| start + colon < at)
        .map(|colon| &line[colon + 1..]);
    let contains = |needle: &[u8]| {
        !needle.iter().all(|b| b.is_ascii_whitespace())
            && sent
                .iter()
                .any(|m| m.windows(needle.len()).any(|w| w == needle))
    };
    contains(line) || value.is_some_and(contains)
}

/// Whether every actor of `case` talks the protocol over a transport the fuzzer mutates: its
/// byte stream, LeanCloud's WebSocket messages, MSNP in the gateway's HTTP bodies. Cases with
/// `http:` steps (requests the scenario writes itself) are left out.
fn replayable(case: &Scenario) -> bool {
    // Every service of the protocol and of those met at run-time addresses (MSRP): byte
    // streams, LeanCloud's WebSocket messages and the gateway's HTTP bodies are all mutated.
    let p = case.protocol.module();
    let streams: Vec<&str> = p
        .services()
        .iter()
        .chain(p.address_protocols().iter().flat_map(|a| a.services()))
        .copied()
        .collect();
    fn http(steps: &[scenario::Step]) -> bool {
        steps.iter().any(|s| match &s.kind {
            StepKind::Http(_) => true,
            StepKind::Repeat(r) => http(&r.steps),
            _ => false,
        })
    }
    !http(&case.steps)
        && case.actors.values().all(|t| match t {
            ActorTarget::Service(s) => streams.contains(&s.as_str()),
            ActorTarget::Address(_) => true,
        })
}

/// The service whose liveness a round of `case` checks: the gateway for a case that talks to
/// it, else the protocol's main service.
fn checked_service(case: &Scenario) -> String {
    if runner::is_gateway_case(case) {
        gateway::SERVICE.to_owned()
    } else {
        case.protocol.name().to_owned()
    }
}

/// Whether a server owes `message` an answer: it is a whole request that expects a reply.
fn owes_reply(protocol: Protocol, message: &[u8]) -> bool {
    let p = protocol.module();
    match p.parse(message) {
        Ok(imspec_codec::Status::Complete((frame, _))) => {
            // MSNP `ACK` answers a push; nothing answers it unless it is refused.
            p.request_key(&frame).is_some() && frame.get("verb") != Some("ACK")
        }
        _ => false,
    }
}

/// A mutation's description without its numbers, so that one bug found by many rounds is
/// written once.
fn signature(mutation: &str) -> String {
    mutation.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// `case` with its `i`-th and `i+1`-th top-level steps swapped, both being sends, for some `i`
/// chosen by `r`.
fn swap_adjacent_sends(case: &Scenario, r: u64) -> Option<(Scenario, String)> {
    let pairs: Vec<usize> = (0..case.steps.len().saturating_sub(1))
        .filter(|&i| {
            matches!(case.steps[i].kind, StepKind::Send(_))
                && matches!(case.steps[i + 1].kind, StepKind::Send(_))
        })
        .collect();
    let i = *pairs.get((r % pairs.len().max(1) as u64) as usize)?;
    let mut s = case.clone();
    s.steps.swap(i, i + 1);
    Some((
        s,
        format!(
            "steps {} and {} swapped ({} then {})",
            i + 1,
            i + 2,
            case.steps[i + 1].span,
            case.steps[i].span
        ),
    ))
}

fn short(bytes: &[u8]) -> String {
    let mut s = proto::escape(&bytes[..bytes.len().min(120)]);
    if bytes.len() > 120 {
        s.push('…');
    }
    s
}

// ---------------------------------------------------------------------------------------
// The target: embedded or external

struct Target {
    services: BTreeMap<String, SocketAddr>,
    embedded: Option<Server>,
    config: ServerConfig,
}

impl Target {
    async fn start(opts: &Options) -> Result<Self, Error> {
        let config = ServerConfig {
            mutant: opts.mutant,
            seed: Some(opts.seed),
            ..ServerConfig::local()
        };
        if !opts.targets.is_empty() {
            for (name, addr) in &opts.targets {
                match tokio::time::timeout(opts.timeout * 5, TcpStream::connect(addr)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        return Err(Error::Unreachable(format!(
                            "target {name} at {addr} cannot be reached: {e}"
                        )));
                    }
                    Err(_) => {
                        return Err(Error::Unreachable(format!(
                            "target {name} at {addr} cannot be reached: timed out"
                        )));
                    }
                }
            }
            return Ok(Self {
                services: opts.targets.clone(),
                embedded: None,
                config,
            });
        }
        let server = Server::start(config.clone()).await?;
        Ok(Self {
            services: services_of(&server),
            embedded: Some(server),
            config,
        })
    }

    /// Whether `case` can run: every service its actors name is a target.
    fn serves(&self, case: &Scenario) -> bool {
        case.actors.values().all(|t| match t {
            ActorTarget::Service(s) => self.services.contains_key(s),
            ActorTarget::Address(_) => true,
        }) && self.services.contains_key(&checked_service(case))
    }

    /// Replaces a dead embedded server with a fresh one; `false` for an external target.
    async fn restart(&mut self) -> Result<bool, Error> {
        let Some(old) = self.embedded.take() else {
            return Ok(false);
        };
        old.shutdown().await;
        let server = Server::start(self.config.clone()).await?;
        self.services = services_of(&server);
        self.embedded = Some(server);
        Ok(true)
    }

    async fn stop(self) {
        if let Some(s) = self.embedded {
            s.shutdown().await;
        }
    }

    /// After a round: a refused connection is a crash, a failed liveness scenario an
    /// unresponsive server.
    async fn liveness(&self, fuzzer: &Fuzzer<'_>, case: &Scenario) -> Result<(), (Kind, String)> {
        let (protocol, service) = (case.protocol, checked_service(case));
        let Some(addr) = self.services.get(&service) else {
            return Ok(());
        };
        match tokio::time::timeout(fuzzer.opts.timeout, TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err((
                    Kind::Crash,
                    format!("connecting to {service} at {addr} after the round: {e}"),
                ));
            }
            Err(_) => {
                return Err((
                    Kind::Crash,
                    format!("connecting to {service} at {addr} after the round timed out"),
                ));
            }
        }
        let probe = liveness_case(protocol, &service);
        let (result, _) = fuzzer.round(self, &probe, None).await;
        if result.verdict == Verdict::Pass {
            return Ok(());
        }
        let why = result
            .failure
            .map(|f| format!("{}: {}", f.action, f.reason))
            .unwrap_or_default();
        Err((
            Kind::Unresponsive,
            format!("liveness after the round failed: {why}"),
        ))
    }

    /// Runs a written reproduction: against a fresh embedded server, or against the external
    /// target while it is still up. `Some(true)` when it failed as the finding says.
    async fn reproduce(
        &self,
        case: &Scenario,
        fuzzer: &Fuzzer<'_>,
        kind: Kind,
    ) -> Result<Option<bool>, Error> {
        let run = |services: BTreeMap<String, SocketAddr>| {
            let opts = fuzzer.run_options(case);
            async move {
                let connector = Recording::new(services, Arc::new(Mutex::new(Log::default())));
                runner::run(case, &opts, &connector).await.verdict
            }
        };
        let verdict = if self.embedded.is_some() {
            let server = Server::start(self.config.clone()).await?;
            let v = run(services_of(&server)).await;
            server.shutdown().await;
            v
        } else if matches!(kind, Kind::Crash | Kind::Unresponsive) {
            return Ok(None);
        } else {
            run(self.services.clone()).await
        };
        Ok(Some(matches!(verdict, Verdict::Fail | Verdict::NonStrict)))
    }
}

fn services_of(server: &Server) -> BTreeMap<String, SocketAddr> {
    server
        .addrs()
        .into_iter()
        .map(|(s, a)| (s.name().to_owned(), a))
        .collect()
}

/// The liveness scenario: a fresh connection to `service` gets an answer (any answer) to two
/// requests of `protocol`.
pub fn liveness_case(protocol: Protocol, service: &str) -> Scenario {
    let text = repro::liveness_yaml(protocol, service);
    // INVARIANT: the built-in text is tested to load (`liveness_cases_load`).
    scenario::load_str(Path::new("imspec-fuzz-liveness.yaml"), &text)
        .unwrap_or_else(|e| panic!("built-in liveness scenario: {e}"))
}

// ---------------------------------------------------------------------------------------
// Recording and mutating connections

/// What one round sent and received: every TCP connection as the harness's [`Tap`] recorded
/// it (the same records `imspec run --pcap` writes), and the mutation made.
#[derive(Debug, Default)]
pub struct Log {
    protocol: Option<Protocol>,
    /// (stream index, message index, mutation) to apply.
    plan: Option<(usize, usize, Mutation)>,
    /// Messages written on each stream the runner opened, in the order it opened them (the
    /// baseline's choice of what to mutate).
    pub streams: Vec<usize>,
    /// The message mutated, once it went out.
    pub mutated: Option<Mutated>,
    /// The TCP connections of the round (a gateway actor's HTTP requests included).
    pub connections: Vec<Connection>,
    /// When the round started (microseconds since the Unix epoch; the connections' times
    /// count from here).
    pub started_us: u64,
    ended: Option<Instant>,
}

impl Log {
    /// The round's connections as a pcapng file (`report::pcap`).
    pub fn pcapng(&self, case: &Scenario) -> Vec<u8> {
        let result = CaseResult {
            id: case.id.clone(),
            started_us: self.started_us,
            connections: self.connections.clone(),
            ..CaseResult::default()
        };
        pcap::render(&[result])
    }

    /// The description of the mutation applied, if it was.
    fn mutation(&self) -> Option<String> {
        let m = self.mutated.as_ref()?;
        Some(format!(
            "message {} on {}: {}",
            m.message + 1,
            m.actor,
            m.what
        ))
    }
}

/// The mutated message of a round.
#[derive(Debug, Clone)]
pub struct Mutated {
    /// The actor whose stream carried it.
    pub actor: String,
    /// Its index among the stream's messages.
    pub message: usize,
    /// What the mutation did.
    pub what: String,
    /// The message as the protocol frames it, after the mutation: the bytes of one write, the
    /// payload of one WebSocket message, one MSNP write into the gateway bridge.
    pub bytes: Vec<u8>,
    /// Whether a server owes it an answer (a whole request).
    pub owes_reply: bool,
    /// When it went out.
    pub at: Instant,
    /// Whether a byte, the end or an error was read on its stream after it went out.
    pub answered: bool,
}

/// How a stream's messages are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// One write of the runner is one message (a `send:` step) of this protocol: TCP streams,
    /// and the MSNP stream of the gateway bridge (whose writes become HTTP request bodies).
    Writes(Protocol),
    /// A WebSocket client's stream: the handshake, then frames; a message is one data frame,
    /// whose LeanCloud command is mutated ([`mutate::apply_command`]).
    WebSocket,
}

/// Connects to loopback addresses only and hands back plain TCP streams (which [`Tap`]
/// records).
struct Loopback {
    services: BTreeMap<String, SocketAddr>,
}

impl Connector for Loopback {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            let addr: SocketAddr = match to {
                Endpoint::Service(s) => *self
                    .services
                    .get(s)
                    .ok_or_else(|| TransportError::NoService(s.clone()))?,
                Endpoint::Address(a) => {
                    let a = first_address(a)?;
                    tokio::net::lookup_host(a)
                        .await
                        .ok()
                        .and_then(|mut it| it.next())
                        .ok_or_else(|| TransportError::BadAddress(a.to_owned()))?
                }
            };
            if !addr.ip().is_loopback() {
                return Err(TransportError::Unreachable {
                    to: addr.to_string(),
                    source: io::Error::other("imspec fuzz connects to loopback addresses only"),
                });
            }
            let stream =
                TcpStream::connect(addr)
                    .await
                    .map_err(|source| TransportError::Unreachable {
                        to: addr.to_string(),
                        source,
                    })?;
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream) as BoxStream)
        })
    }
}

/// The round's connector: MSNP over the HTTP gateway for `msnp-gateway` actors, every TCP
/// stream recorded by [`Tap`], and the streams the runner opens wrapped in [`Mutating`].
struct Recording {
    inner: Gateway,
    log: Arc<Mutex<Log>>,
}

impl Recording {
    fn new(services: BTreeMap<String, SocketAddr>, log: Arc<Mutex<Log>>) -> Self {
        let tap = Tap::new(Arc::new(Loopback { services }));
        Self {
            inner: Gateway::new(Arc::new(tap), gateway::Options::default()),
            log,
        }
    }
}

impl Connector for Recording {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            let stream = self.inner.connect(to).await?;
            let scope = tap::current();
            let actor = scope.as_ref().map(|s| s.actor.clone()).unwrap_or_default();
            let mut log = lock(&self.log);
            let Some(protocol) = log.protocol else {
                // No round is set up: nothing to mutate.
                return Ok(stream);
            };
            let framing = match to {
                // The gateway bridge's stream carries MSNP commands.
                Endpoint::Service(s) if s == gateway::SERVICE => {
                    Framing::Writes(Protocol::of(&proto::msnp::Msnp))
                }
                _ if protocol.module().carried() == "websocket" => Framing::WebSocket,
                _ => Framing::Writes(protocol),
            };
            log.streams.push(0);
            Ok(Box::new(Mutating {
                inner: stream,
                index: log.streams.len() - 1,
                actor,
                framing,
                log: Arc::clone(&self.log),
                held: Vec::new(),
                handshake_done: false,
                out: Vec::new(),
            }) as BoxStream)
        })
    }

    fn dial<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        self.inner.dial(to)
    }
}

/// A stream that mutates the planned message on its way out and notes whether it was
/// answered. The bytes themselves are recorded below it, by [`Tap`].
struct Mutating {
    inner: BoxStream,
    index: usize,
    actor: String,
    framing: Framing,
    log: Arc<Mutex<Log>>,
    /// WebSocket: bytes written by the client, not yet a whole handshake or frame.
    held: Vec<u8>,
    handshake_done: bool,
    /// Bytes accepted from the writer, not yet written below.
    out: Vec<u8>,
}

impl Mutating {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// Counts one message of this stream; mutates it if it is the planned one.
    fn message(&self, message: &[u8], text: bool) -> Vec<u8> {
        let mut log = lock(&self.log);
        let Some(k) = log.streams.get_mut(self.index) else {
            return message.to_vec();
        };
        let m = *k;
        *k += 1;
        let plan = log.plan;
        let Some((_, _, mutation)) = plan.filter(|(s, at, _)| *s == self.index && *at == m) else {
            return message.to_vec();
        };
        let (bytes, what, owes_reply) = match self.framing {
            Framing::Writes(p) => {
                let (b, what) = mutate::apply(p, message, mutation);
                let owes = owes_reply(p, &b);
                (b, what, owes)
            }
            Framing::WebSocket => {
                let (b, what) = mutate::apply_command(message, text, mutation);
                let owes = command_owes_reply(&b, text);
                (b, what, owes)
            }
        };
        log.mutated = Some(Mutated {
            actor: self.actor.clone(),
            message: m,
            what,
            bytes: bytes.clone(),
            owes_reply,
            at: Instant::now(),
            answered: false,
        });
        bytes
    }

    /// WebSocket: moves every whole handshake or frame of `held` to `out`, the planned data
    /// frame mutated (masked again with its own key).
    fn cut_frames(&mut self) {
        loop {
            if !self.handshake_done {
                let ends = pcap::frame_ends("http", Way::Send, &self.held);
                match ends.first() {
                    Some(&n) if http_head_complete(&self.held[..n]) => {
                        self.out.extend(self.held.drain(..n));
                        self.handshake_done = true;
                    }
                    _ => return,
                }
                continue;
            }
            let Some(frame) = frames::client_frame(&self.held) else {
                // Incomplete, or not a frame (passed on: the server judges it).
                if frames::frame_error(&self.held) {
                    self.out.append(&mut self.held);
                }
                return;
            };
            let whole: Vec<u8> = self.held.drain(..frame.len).collect();
            let data = matches!(frame.header.opcode, OpCode::Data(Data::Binary | Data::Text))
                && frame.header.is_final;
            if !data {
                self.out.extend_from_slice(&whole);
                continue;
            }
            let text = frame.header.opcode == OpCode::Data(Data::Text);
            let bytes = self.message(&frame.payload, text);
            if bytes == frame.payload {
                self.out.extend_from_slice(&whole);
            } else {
                frames::write_frame(frame.header, bytes, &mut self.out);
            }
        }
    }
}

impl AsyncWrite for Mutating {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        match this.framing {
            Framing::Writes(_) => {
                let bytes = this.message(buf, false);
                this.out = bytes;
            }
            Framing::WebSocket => {
                this.held.extend_from_slice(buf);
                this.cut_frames();
            }
        }
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl AsyncRead for Mutating {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = ready!(Pin::new(&mut this.inner).poll_read(cx, buf));
        let mut log = lock(&this.log);
        let here = log.plan.is_some_and(|(s, _, _)| s == this.index);
        if here && let Some(m) = log.mutated.as_mut() {
            m.answered = true;
        }
        Poll::Ready(r)
    }
}

/// Whether the head `bytes` (one HTTP message cut by `frame_ends`) is complete.
fn http_head_complete(bytes: &[u8]) -> bool {
    bytes.ends_with(b"\r\n\r\n")
}

/// Whether a server owes a LeanCloud command an answer: it decodes and carries the serial
/// `i` that pairs replies (an `ack` the client sends answers a push and is not answered).
fn command_owes_reply(payload: &[u8], text: bool) -> bool {
    let format = if text {
        leancloud::Format::Proto2Base64
    } else {
        leancloud::Format::Protobuf2
    };
    leancloud::decode(payload, format)
        .is_ok_and(|c| c.i.is_some() && c.command_type() != Some(leancloud::CommandType::Ack))
}

#[cfg(test)]
mod tests {
    use super::*;
    const FETION: Protocol = Protocol::of(&imspec_harness::proto::fetion::Fetion);
    const MSNP: Protocol = Protocol::of(&imspec_harness::proto::msnp::Msnp);
    const SIP: Protocol = Protocol::of(&imspec_harness::proto::sip::Sip);
    const LEANCLOUD: Protocol = Protocol::of(&imspec_harness::proto::leancloud::LeanCloud);

    /// The first byte the SIP reader rejects in `reply`.
    fn error_at(reply: &[u8]) -> usize {
        match proto::Protocol::parse(&proto::sip::Sip, reply) {
            Err(e) => e.offset(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_echoed_mangled_via_is_the_requests() {
        // Kamailio answers a request whose Via had a bit flipped with a 400 that copies the
        // Via byte for byte (RFC 3261 §8.2.6.2), here under its compact name.
        let request: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5\xc0;branch=z9hG4bK1\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let reply: &[u8] = b"SIP/2.0 400 Bad Request\r\nv: SIP/2.0/TCP 127.0.0.1:5\xc0;branch=z9hG4bK1\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n";
        let at = error_at(reply);
        assert!(echoed(reply, at, &[request]));
        // The same bytes are the server's own when no request carried them.
        let clean: &[u8] =
            b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5;branch=z9hG4bK1\r\n\r\n";
        assert!(!echoed(reply, at, &[clean]));
    }

    #[test]
    fn a_malformed_line_of_the_servers_own_is_a_finding() {
        let request: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5\xc0;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";
        for reply in [
            &b"SIP/2.0 400 Bad Request\r\nServer no colon here\r\nContent-Length: 0\r\n\r\n"[..],
            b"SIP/2.0 400 Bad Request\r\nWarning: 399 x \"\xff\"\r\nContent-Length: 0\r\n\r\n",
            // A name the server chose, in front of an echoed value, is the server's.
            b"SIP/2.0 400 Bad Request\r\nV\x01a: SIP/2.0/TCP 127.0.0.1:5\xc0;branch=z9hG4bK1\r\n\r\n",
        ] {
            let at = error_at(reply);
            assert!(!echoed(reply, at, &[request]), "{}", short(reply));
        }
    }

    #[test]
    fn liveness_cases_load() {
        for p in [FETION, MSNP, SIP, LEANCLOUD] {
            assert_eq!(liveness_case(p, p.name()).protocol, p);
        }
        let gateway = liveness_case(MSNP, gateway::SERVICE);
        assert!(runner::is_gateway_case(&gateway));
    }

    #[test]
    fn reordering_swaps_two_adjacent_sends() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/fetion/013-server-survives-malformed-input.yaml");
        let case = scenario::load(&path).unwrap();
        let (swapped, what) = swap_adjacent_sends(&case, 1).unwrap();
        assert!(what.starts_with("steps "), "{what}");
        let moved: Vec<usize> = (0..case.steps.len())
            .filter(|&i| case.steps[i] != swapped.steps[i])
            .collect();
        assert_eq!(moved.len(), 2, "{what}");
        assert_eq!(moved[0] + 1, moved[1]);
        assert!(matches!(swapped.steps[moved[0]].kind, StepKind::Send(_)));
        let liveness = liveness_case(FETION, "fetion");
        assert!(
            swap_adjacent_sends(&liveness, 0).is_none(),
            "no two sends are adjacent"
        );
    }

    #[test]
    fn signatures_ignore_numbers() {
        assert_eq!(
            signature("message 3 on alice: header `I` value replaced by 40 repeated bytes"),
            signature("message 5 on alice: header `I` value replaced by 1024 repeated bytes")
        );
    }

    #[test]
    fn only_whole_requests_are_owed_a_reply() {
        assert!(owes_reply(
            FETION,
            b"S x SIP-C/2.0\r\nI: 1\r\nQ: 1 S\r\n\r\n"
        ));
        assert!(!owes_reply(
            FETION,
            b"SIP-C/2.0 200 OK\r\nI: 1\r\nQ: 1 S\r\n\r\n"
        ));
        assert!(!owes_reply(FETION, b"S x SIP-C/2.0\r\nL: 5\r\n\r\n"));
        assert!(owes_reply(MSNP, b"PNG 1 CON 0\r\n"));
        assert!(!owes_reply(MSNP, b"ACK 1 MSGR 0\r\n"));
        assert!(!owes_reply(MSNP, b"PNG 1 CON 9\r\n"));
    }

    #[tokio::test]
    async fn non_loopback_targets_are_refused() {
        let opts = Options {
            targets: BTreeMap::from([(
                "fetion".to_owned(),
                SocketAddr::from(([10, 0, 0, 1], 8080)),
            )]),
            ..Options::default()
        };
        let e = fuzz(&opts, |_| {}).await.unwrap_err();
        assert!(e.to_string().contains("not a loopback address"), "{e}");
        let c = Recording::new(BTreeMap::new(), Arc::new(Mutex::new(Log::default())));
        let e = c
            .connect(&Endpoint::Address("192.0.2.1:80".into()))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("loopback addresses only"), "{e}");
    }
}
