//! `imspec fuzz`: network fuzzing of a running server by replaying scenarios with one message
//! mutated per round.
//!
//! Each round runs one scenario through the ordinary runner, over a connector that records
//! every connection and rewrites one chosen message on its way out ([`super::mutate`]), or
//! runs the scenario with two adjacent sends swapped. Because the runner still resolves
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
//! Each finding becomes a YAML scenario of raw `send` steps replaying the round's bytes, then
//! the check that failed ([`super::repro`]); it is loaded back and, when possible, run once to
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
use super::repro;
use imspec_harness::proto;
use imspec_harness::runner::{self, CaseResult, RunOptions, Verdict, actor::lock};
use imspec_harness::scenario::{self, ActorTarget, Protocol, Scenario, ScenarioError, StepKind};
use imspec_harness::transport::{
    BoxFuture, BoxStream, Connector, Endpoint, TransportError, first_address, gateway,
};
use imspec_server::{Mutant, Server, ServerConfig};

/// What to fuzz and for how long.
#[derive(Clone, Debug)]
pub struct Options {
    /// Target services by name (`fetion`, `fetion-chat`, `msnp`); empty: the embedded server.
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
        if target.serves(s.protocol) && replayable(&s) && !s.is_client_case() {
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
            .conns
            .iter()
            .enumerate()
            .flat_map(|(c, conn)| (0..conn.messages.len()).map(move |m| (c, m)))
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
        let live = target.liveness(&fuzzer, played.protocol).await;
        // A server that is down after the round explains an unanswered request: the crash is
        // the finding, whether the dying connection closed before the runner gave up waiting
        // (a loaded machine) or after. Only a live server's silence is a hang.
        if live.is_ok() {
            found.extend(fuzzer.hang(&played, &log, &result));
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
                tail,
                timeout: opts.timeout,
            });
            std::fs::write(&path, &text)?;
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
        let connector = Recording {
            services: target.services.clone(),
            log: Arc::clone(&self.log),
        };
        let result = runner::run(case, &self.run_options(case), &connector).await;
        let mut log = std::mem::take(&mut *lock(&self.log));
        log.ended = Some(Instant::now());
        log.actors = result
            .wire
            .iter()
            .filter(|e| e.text.starts_with("connected to "))
            .map(|e| e.actor.clone())
            .collect();
        (result, log)
    }

    fn run_options(&self, case: &Scenario) -> RunOptions {
        RunOptions {
            timeout_scale: self.opts.timeout.as_secs_f64() * 1000.0 / case.timeout_ms.max(1) as f64,
            profile: Arc::clone(&self.opts.profile),
            ..RunOptions::default()
        }
    }

    /// Server bytes the codec rejects, per connection, and how many rejections were bytes
    /// the client sent, echoed ([`echoed`]).
    fn protocol_errors(
        &self,
        case: &Scenario,
        log: &Log,
    ) -> (Vec<(Kind, String, repro::Tail)>, u64) {
        let p = case.protocol.module();
        let mut out = Vec::new();
        let mut echoes = 0;
        let sent: Vec<&[u8]> = log
            .conns
            .iter()
            .flat_map(|c| c.messages.iter().map(|m| m.bytes.as_slice()))
            .collect();
        for (c, conn) in log.conns.iter().enumerate() {
            let mut at = 0;
            while at < conn.received.len() {
                match p.parse(&conn.received[at..]) {
                    Ok(imspec_codec::Status::Complete((_, n))) => at += n,
                    Ok(imspec_codec::Status::Incomplete(_)) => {
                        if conn.eof.is_some() {
                            out.push((
                                Kind::ProtocolError,
                                format!(
                                    "connection {}: the server closed inside a frame at byte {}: \"{}\"",
                                    log.actor(c),
                                    conn.received.len(),
                                    short(&conn.received[at..])
                                ),
                                repro::Tail::Valid { conn: c, closed: true },
                            ));
                        }
                        break;
                    }
                    Err(e) if echoed(&conn.received, at + e.offset(), &sent) => {
                        // The rest of this connection cannot be framed; nothing more to judge.
                        echoes += 1;
                        break;
                    }
                    Err(e) => {
                        out.push((
                            Kind::ProtocolError,
                            format!(
                                "connection {}: byte {}: {} in \"{}\"",
                                log.actor(c),
                                at + e.offset(),
                                e.kind(),
                                short(&conn.received[at..])
                            ),
                            repro::Tail::Valid {
                                conn: c,
                                closed: conn.eof.is_some(),
                            },
                        ));
                        break;
                    }
                }
            }
        }
        (out, echoes)
    }

    /// The mutated message was a whole request and nothing came back in time.
    fn hang(
        &self,
        case: &Scenario,
        log: &Log,
        result: &CaseResult,
    ) -> Option<(Kind, String, repro::Tail)> {
        let (c, m, _) = log.plan?;
        let conn = log.conns.get(c)?;
        let sent = conn.messages.get(m)?;
        if !owes_reply(case.protocol, &sent.bytes) {
            return None;
        }
        let answered = conn.received_at.iter().any(|t| *t >= sent.at)
            || conn.eof.is_some_and(|t| t >= sent.at);
        let waited = log.ended?.saturating_duration_since(sent.at);
        // The scenario itself must have given up waiting on this connection (a reply can be
        // legitimately held back for another connection, like a Fetion relay).
        let actor = log.actor(c);
        let waited_here = result.failure.as_ref().is_some_and(|f| {
            f.action.ends_with(&format!(" {actor}")) && f.reason.contains("within")
        });
        (!answered && waited >= self.opts.timeout && waited_here).then(|| {
            (
                Kind::Hang,
                format!(
                    "connection {actor}: no reply and no close within {} ms of `{}`",
                    self.opts.timeout.as_millis(),
                    proto::first_line(&sent.bytes)
                ),
                repro::Tail::Reply {
                    conn: c,
                    message: m,
                },
            )
        })
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

/// Whether every actor of `case` talks the protocol's framing over a byte stream (cases for
/// another transport, such as the MSNP HTTP gateway, are left out).
fn replayable(case: &Scenario) -> bool {
    // The protocol's services and those of protocols met at run-time addresses (MSRP), but
    // neither the HTTP gateway nor a protocol that opens with a handshake (LeanCloud's
    // WebSocket messages are not a byte stream of the protocol's own framing).
    let p = case.protocol.module();
    let streams: Vec<&str> = if p.handshake().is_some() {
        Vec::new()
    } else {
        p.services()
            .iter()
            .chain(p.address_protocols().iter().flat_map(|a| a.services()))
            .copied()
            .filter(|s| *s != gateway::SERVICE)
            .collect()
    };
    case.actors.values().all(|t| match t {
        ActorTarget::Service(s) => streams.contains(&s.as_str()),
        ActorTarget::Address(_) => true,
    })
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

    /// Whether cases of `protocol` can run: its main service is a target.
    fn serves(&self, protocol: Protocol) -> bool {
        self.services.contains_key(protocol.name())
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
    async fn liveness(
        &self,
        fuzzer: &Fuzzer<'_>,
        protocol: Protocol,
    ) -> Result<(), (Kind, String)> {
        let Some(addr) = self.services.get(protocol.name()) else {
            return Ok(());
        };
        match tokio::time::timeout(fuzzer.opts.timeout, TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err((
                    Kind::Crash,
                    format!(
                        "connecting to {} at {addr} after the round: {e}",
                        protocol.name()
                    ),
                ));
            }
            Err(_) => {
                return Err((
                    Kind::Crash,
                    format!(
                        "connecting to {} at {addr} after the round timed out",
                        protocol.name()
                    ),
                ));
            }
        }
        let case = liveness_case(protocol);
        let (result, _) = fuzzer.round(self, &case, None).await;
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
                let connector = Recording {
                    services,
                    log: Arc::new(Mutex::new(Log::default())),
                };
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

/// The liveness scenario: a fresh connection gets an answer (any answer) to two requests.
pub fn liveness_case(protocol: Protocol) -> Scenario {
    let text = repro::liveness_yaml(protocol);
    // INVARIANT: the built-in text is tested to load (`liveness_cases_load`).
    scenario::load_str(Path::new("imspec-fuzz-liveness.yaml"), &text)
        .unwrap_or_else(|e| panic!("built-in liveness scenario: {e}"))
}

// ---------------------------------------------------------------------------------------
// Recording connections

/// What one round sent and received.
#[derive(Debug, Default)]
pub struct Log {
    protocol: Option<Protocol>,
    /// (connection index, message index, mutation) to apply.
    plan: Option<(usize, usize, Mutation)>,
    /// The connections, in the order they opened.
    pub conns: Vec<ConnLog>,
    /// The actor of each connection (from the runner's wire log).
    pub actors: Vec<String>,
    ended: Option<Instant>,
}

impl Log {
    /// The actor name of connection `c`.
    pub fn actor(&self, c: usize) -> String {
        self.actors
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("c{}", c + 1))
    }

    /// The description of the mutation applied, if it was.
    fn mutation(&self) -> Option<String> {
        let (c, m, _) = self.plan?;
        let what = self.conns.get(c)?.messages.get(m)?.mutation.clone()?;
        Some(format!("message {} on {}: {what}", m + 1, self.actor(c)))
    }
}

/// One connection of a round.
#[derive(Debug)]
pub struct ConnLog {
    /// Where it went.
    pub endpoint: Endpoint,
    /// The address it connected to.
    pub addr: SocketAddr,
    /// When it opened.
    pub opened: Instant,
    /// What the client wrote, one entry per write (one `send:` step each).
    pub messages: Vec<Sent>,
    /// Every byte the server sent.
    pub received: Vec<u8>,
    /// When bytes arrived.
    pub received_at: Vec<Instant>,
    /// When the server closed it.
    pub eof: Option<Instant>,
}

/// One write.
#[derive(Debug)]
pub struct Sent {
    /// When.
    pub at: Instant,
    /// The bytes that went out (after the mutation).
    pub bytes: Vec<u8>,
    /// What the mutation did, if this write was mutated.
    pub mutation: Option<String>,
}

/// A connector that records connections and applies the round's mutation.
struct Recording {
    services: BTreeMap<String, SocketAddr>,
    log: Arc<Mutex<Log>>,
}

impl Connector for Recording {
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
            let index = {
                let mut log = lock(&self.log);
                log.conns.push(ConnLog {
                    endpoint: to.clone(),
                    addr,
                    opened: Instant::now(),
                    messages: Vec::new(),
                    received: Vec::new(),
                    received_at: Vec::new(),
                    eof: None,
                });
                log.conns.len() - 1
            };
            Ok(Box::new(Recorded {
                inner: stream,
                index,
                log: Arc::clone(&self.log),
                out: Vec::new(),
            }) as BoxStream)
        })
    }
}

/// A connection that logs both directions and mutates the planned write. The runner writes
/// each `send:` step with one `write_all`, and this stream always takes a whole buffer, so one
/// `poll_write` is one message.
struct Recorded {
    inner: TcpStream,
    index: usize,
    log: Arc<Mutex<Log>>,
    /// Bytes accepted from the runner, not yet written to the socket.
    out: Vec<u8>,
}

impl Recorded {
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
}

impl AsyncWrite for Recorded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        let bytes = {
            let mut log = lock(&this.log);
            let (protocol, plan) = (log.protocol, log.plan);
            let Some(conn) = log.conns.get_mut(this.index) else {
                return Poll::Ready(Err(io::Error::other("connection not logged")));
            };
            let k = conn.messages.len();
            let (bytes, mutation) = match (plan, protocol) {
                (Some((c, m, mutation)), Some(p)) if c == this.index && m == k => {
                    let (b, what) = mutate::apply(p, buf, mutation);
                    (b, Some(what))
                }
                _ => (buf.to_vec(), None),
            };
            conn.messages.push(Sent {
                at: Instant::now(),
                bytes: bytes.clone(),
                mutation,
            });
            bytes
        };
        this.out = bytes;
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

impl AsyncRead for Recorded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        let mut log = lock(&this.log);
        if let Some(conn) = log.conns.get_mut(this.index) {
            if new.is_empty() {
                conn.eof.get_or_insert_with(Instant::now);
            } else {
                conn.received.extend_from_slice(new);
                conn.received_at.push(Instant::now());
            }
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first byte the SIP reader rejects in `reply`.
    fn error_at(reply: &[u8]) -> usize {
        match Protocol::Sip.module().parse(reply) {
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
        for p in [Protocol::Fetion, Protocol::Msnp] {
            assert_eq!(liveness_case(p).protocol, p);
        }
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
        let liveness = liveness_case(Protocol::Fetion);
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
            Protocol::Fetion,
            b"S x SIP-C/2.0\r\nI: 1\r\nQ: 1 S\r\n\r\n"
        ));
        assert!(!owes_reply(
            Protocol::Fetion,
            b"SIP-C/2.0 200 OK\r\nI: 1\r\nQ: 1 S\r\n\r\n"
        ));
        assert!(!owes_reply(
            Protocol::Fetion,
            b"S x SIP-C/2.0\r\nL: 5\r\n\r\n"
        ));
        assert!(owes_reply(Protocol::Msnp, b"PNG 1 CON 0\r\n"));
        assert!(!owes_reply(Protocol::Msnp, b"ACK 1 MSGR 0\r\n"));
        assert!(!owes_reply(Protocol::Msnp, b"PNG 1 CON 9\r\n"));
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
        let c = Recording {
            services: BTreeMap::new(),
            log: Arc::new(Mutex::new(Log::default())),
        };
        let e = c
            .connect(&Endpoint::Address("192.0.2.1:80".into()))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("loopback addresses only"), "{e}");
    }
}
