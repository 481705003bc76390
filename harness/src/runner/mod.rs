//! The runner: replays a [`Scenario`] against a target through a [`Connector`] and returns
//! a [`CaseResult`] (plain data). A target that breaks the protocol is not a Rust error but a
//! failed case with the step, expected, actual and the wire log.

pub mod actor;
pub mod expect;
pub mod profile;
pub mod result;
pub mod vars;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::time::timeout_at;

use crate::proto::{self, Frame, Protocol, Spec};
use crate::scenario::{
    self as scenario, ActorTarget, Answer, Expect, ExpectSource, FrameSpec, HttpSend, Scenario,
    Span, Step, StepKind, Template, Tree,
};
use crate::transport::{Connector, Endpoint, TransportError, first_address, gateway, tap, ws};

pub use profile::{BarrierMode, Profile};
pub use result::{
    CaseResult, Chunk, Connection, Direction, Failure, Verdict, Waited, Way, WireEntry,
};

use actor::{Actor, Closed, Inbox, Wire, lock};
use expect::{Mismatch, check, check_frame, short};
use vars::{Value, Vars, fnv};

/// How to run cases.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Multiplies every step timeout.
    pub timeout_scale: f64,
    /// Split sends into 1–7 byte writes and coalesce consecutive sends, in every case (a
    /// case whose id ends in [`CHOP_SUFFIX`] is chopped either way).
    pub chop: bool,
    /// The target profile.
    pub profile: Arc<Profile>,
    /// The services that have a target; a case needing another one is skipped. `None`: all
    /// (the embedded server).
    pub services: Option<Arc<std::collections::BTreeSet<String>>>,
    /// Record every TCP connection's bytes into [`CaseResult::connections`] (for `--pcap`;
    /// needs a [`crate::transport::tap::Tap`] in the connector).
    pub capture: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            timeout_scale: 1.0,
            chop: false,
            profile: Arc::new(Profile::default()),
            services: None,
            capture: false,
        }
    }
}

/// The id suffix of a case's chopped twin (see [`with_chop_twins`]).
pub const CHOP_SUFFIX: &str = "@chop";

/// Every case followed by its chopped twin (`<id>@chop`, sends split into 1–7 byte writes
/// and consecutive sends coalesced), so a report shows both side by side.
pub fn with_chop_twins(cases: Vec<Scenario>) -> Vec<Scenario> {
    let mut out = Vec::with_capacity(cases.len() * 2);
    for s in cases {
        let mut twin = s.clone();
        twin.id.push_str(CHOP_SUFFIX);
        out.push(s);
        out.push(twin);
    }
    out
}

/// Quiet period of a barrier in `quiet` mode (before scaling).
pub const QUIET_MS: u64 = 300;
/// Upper bound on `repeat: times:`.
pub const MAX_TIMES: u64 = 100_000;

/// How long one step took, as [`run_timed`] records it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepTime {
    /// The step's 1-based index path (`4`; `3.2` inside a repeat, every iteration alike).
    pub step: String,
    /// What the step does (`expect alice`).
    pub action: String,
    /// From the step's start to its end (a send's flush, an expect's last match).
    pub elapsed: Duration,
}

/// Runs one case.
pub async fn run(s: &Scenario, opts: &RunOptions, connector: &dyn Connector) -> CaseResult {
    run_case(s, opts, connector, None).await.0
}

/// Runs one case and records how long each step that passed took, in execution order (a
/// repeat both as a whole and per inner step). For `imspec load`.
pub async fn run_timed(
    s: &Scenario,
    opts: &RunOptions,
    connector: &dyn Connector,
) -> (CaseResult, Vec<StepTime>) {
    run_case(s, opts, connector, Some(Vec::new())).await
}

async fn run_case(
    s: &Scenario,
    opts: &RunOptions,
    connector: &dyn Connector,
    times: Option<Vec<StepTime>>,
) -> (CaseResult, Vec<StepTime>) {
    let started = Instant::now();
    let wire = Arc::new(Wire::new());
    let mut result = CaseResult {
        id: s.id.clone(),
        title: s.title.clone(),
        verdict: Verdict::Pass,
        duration_ms: 0,
        rules: s.rules.clone(),
        failure: None,
        unreachable: false,
        wire: Vec::new(),
        runs: Default::default(),
        ..CaseResult::default()
    };
    if let Some(reason) = skip_reason(s, opts) {
        result.verdict = Verdict::Skip;
        result.failure = Some(Failure {
            reason,
            ..Failure::default()
        });
        return (result, Vec::new());
    }
    let (tx, rx) = watch::channel(0u64);
    let run_id = format!(
        "{:012x}",
        fnv(format!("{}/{:?}/{}", s.id, started, std::process::id()).as_bytes()) & 0xffff_ffff_ffff
    );
    let mut vars = Vars::new(run_id, s.protocol, Arc::clone(&opts.profile));
    for (k, v) in &s.params {
        vars.set(k, v.clone());
    }
    for (k, v) in &opts.profile.params {
        vars.set(k, v.text());
    }
    let mut case = Case {
        s,
        opts,
        connector,
        proto: proto::for_protocol(s.protocol),
        protos: HashMap::new(),
        vars,
        actors: HashMap::new(),
        wire: Arc::clone(&wire),
        notify: Arc::new(tx),
        rx,
        rng: fnv(s.id.as_bytes()),
        unreachable: false,
        answers: Vec::new(),
        times,
    };
    let outcome = case.exec_steps(&s.steps, String::new(), None).await;
    let outcome = match outcome {
        Ok(()) => case.flush_all().await.map_err(|f| Failure {
            step: "end".into(),
            ..f
        }),
        Err(f) => Err(f),
    };
    for a in case.actors.values_mut() {
        a.close().await;
    }
    result.unreachable = case.unreachable;
    result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    result.wire = wire.take();
    result.started_us = wire.started_us();
    result.actors = wire.protocols();
    result.connections = wire.capture.take();
    let baseline = opts.profile.in_baseline(&s.id);
    result.verdict = match (&outcome, baseline) {
        (Ok(()), false) => Verdict::Pass,
        (Ok(()), true) => Verdict::Xpass,
        (Err(_), true) => Verdict::Xfail,
        (Err(_), false) if s.is_strict() => Verdict::Fail,
        (Err(_), false) => Verdict::NonStrict,
    };
    result.failure = outcome.err();
    (result, case.times.unwrap_or_default())
}

/// Why a case is not run: a service it needs has no target, or the target does not claim a
/// capability it requires.
pub fn skip_reason(s: &Scenario, opts: &RunOptions) -> Option<String> {
    if let Some(services) = &opts.services {
        let missing = s.actors.values().find_map(|a| match a {
            ActorTarget::Service(x) if !services.contains(x) => Some(x),
            _ => None,
        });
        if let Some(x) = missing {
            return Some(format!("no target for service {x}"));
        }
    }
    s.requires
        .iter()
        .find(|c| !opts.profile.claims(c))
        .map(|c| format!("the target does not claim capability `{c}`"))
}

/// Runs many cases, `jobs` at a time, calling `progress` after each; results keep the input order.
pub async fn run_all(
    scenarios: Vec<Arc<Scenario>>,
    opts: &RunOptions,
    connector: Arc<dyn Connector>,
    jobs: usize,
    progress: impl FnMut(&CaseResult, usize, usize),
) -> Vec<CaseResult> {
    run_repeated(scenarios, opts, connector, jobs, 1, progress).await
}

/// Runs every case `repeat` times, `jobs` runs at a time (the runs of one case one after
/// another, so a case never races itself), calling `progress` after each run; each case's
/// runs are merged into one result ([`CaseResult::merge`]: `flaky` if some passed and some
/// failed). Results keep the input order.
pub async fn run_repeated(
    scenarios: Vec<Arc<Scenario>>,
    opts: &RunOptions,
    connector: Arc<dyn Connector>,
    jobs: usize,
    repeat: usize,
    mut progress: impl FnMut(&CaseResult, usize, usize),
) -> Vec<CaseResult> {
    let repeat = repeat.max(1);
    let total = scenarios.len() * repeat;
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in scenarios.iter().enumerate() {
        let (sem, opts, connector) = (Arc::clone(&sem), opts.clone(), Arc::clone(&connector));
        let (s, tx) = (Arc::clone(s), tx.clone());
        set.spawn(async move {
            for _ in 0..repeat {
                // The semaphore is fair: a case's next run queues behind the others' runs.
                let _permit = sem.acquire().await;
                let r = run(&s, &opts, connector.as_ref()).await;
                if tx.send((i, r)).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut runs: Vec<Vec<CaseResult>> = scenarios.iter().map(|_| Vec::new()).collect();
    let mut done = 0;
    while let Some((i, r)) = rx.recv().await {
        done += 1;
        progress(&r, done, total);
        if let Some(v) = runs.get_mut(i) {
            v.push(r);
        }
    }
    while set.join_next().await.is_some() {}
    runs.into_iter().filter_map(CaseResult::merge).collect()
}

/// A step's failure before it gets its location.
#[derive(Debug, Default)]
struct StepFail {
    reason: String,
    expected: Option<String>,
    actual: Option<String>,
    /// The bytes of the received frame that failed the checks.
    frame: Option<Vec<u8>>,
}

impl StepFail {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            ..Self::default()
        }
    }
}

impl From<String> for StepFail {
    fn from(reason: String) -> Self {
        Self::new(reason)
    }
}

impl From<Mismatch> for StepFail {
    fn from(m: Mismatch) -> Self {
        Self {
            reason: m.reason,
            expected: Some(m.expected),
            actual: Some(m.actual),
            frame: None,
        }
    }
}

type StepResult = Result<(), StepFail>;
type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

struct Case<'a> {
    s: &'a Scenario,
    opts: &'a RunOptions,
    connector: &'a dyn Connector,
    proto: &'static dyn Protocol,
    /// Actors whose protocol is not the case's (MSRP actors of a SIP case).
    protos: HashMap<String, &'static dyn Protocol>,
    vars: Vars,
    actors: HashMap<String, Actor>,
    wire: Arc<Wire>,
    notify: Arc<watch::Sender<u64>>,
    rx: watch::Receiver<u64>,
    rng: u64,
    unreachable: bool,
    /// The `answer:` steps in force (each with where it is written), oldest first.
    answers: Vec<(Answer, Span)>,
    /// Step durations, recorded only when `Some` (by [`run_timed`]).
    times: Option<Vec<StepTime>>,
}

impl<'a> Case<'a> {
    fn exec_steps<'b>(
        &'b mut self,
        steps: &'b [Step],
        prefix: String,
        iteration: Option<u64>,
    ) -> BoxFut<'b, Result<(), Failure>>
    where
        'a: 'b,
    {
        Box::pin(async move {
            for (i, step) in steps.iter().enumerate() {
                // Built only when needed: a passing step never shows its path.
                let path = || step_label(&prefix, step, i);
                let from = self.wire.len();
                let began = self.times.is_some().then(Instant::now);
                let outcome = if let StepKind::Repeat(r) = &step.kind {
                    self.repeat(step, r, &path()).await
                } else {
                    let wire = Arc::clone(&self.wire);
                    let waited = |f: &StepFail| {
                        let actor = step_actor(&step.kind);
                        let frame = match (&f.frame, &actor) {
                            (Some(b), Some(a)) => wire.find_recv(a, b, from),
                            _ => None,
                        };
                        Waited {
                            actor,
                            from,
                            to: wire.len(),
                            frame,
                        }
                    };
                    self.exec(step).await.map_err(|f| Failure {
                        waited: Some(waited(&f)),
                        step: match iteration {
                            Some(n) => format!("{} (iteration {n})", path()),
                            None => path(),
                        },
                        location: step.span.to_string(),
                        action: action(&step.kind),
                        reason: f.reason,
                        expected: f.expected,
                        actual: f.actual,
                        note: step.note.clone(),
                    })
                };
                outcome?;
                if let (Some(began), Some(times)) = (began, self.times.as_mut()) {
                    times.push(StepTime {
                        step: path(),
                        action: action(&step.kind),
                        elapsed: began.elapsed(),
                    });
                }
            }
            Ok(())
        })
    }

    async fn repeat(
        &mut self,
        step: &Step,
        r: &crate::scenario::Repeat,
        path: &str,
    ) -> Result<(), Failure> {
        let fail = |reason: String| Failure {
            step: path.to_owned(),
            location: step.span.to_string(),
            action: "repeat".into(),
            reason,
            note: step.note.clone(),
            ..Failure::default()
        };
        let times = match &r.times {
            Some(t) => {
                let n = self.vars.interpolate(&t.0).map_err(&fail)?;
                let n: u64 = n
                    .trim()
                    .parse()
                    .map_err(|_| fail(format!("`times: {n}` is not a whole number")))?;
                if n > MAX_TIMES {
                    return Err(fail(format!("`times: {n}` exceeds {MAX_TIMES}")));
                }
                Some(n)
            }
            None => None,
        };
        let bound = times.unwrap_or(r.max).min(r.max);
        let saved = self.vars.values.get("iteration").cloned();
        let mut i = 0;
        let outcome = loop {
            if i >= bound {
                break match &r.until {
                    Some((var, _)) if times.is_none() => Err(fail(format!(
                        "`until` on `{var}` still false after `max: {}` iterations",
                        r.max
                    ))),
                    _ => Ok(()),
                };
            }
            i += 1;
            self.vars.set("iteration", i.to_string());
            if let Err(f) = self.exec_steps(&r.steps, format!("{path}."), Some(i)).await {
                break Err(f);
            }
            if let Some((var, c)) = &r.until {
                let values = self
                    .vars
                    .values
                    .get(var)
                    .map(Value::as_list)
                    .unwrap_or_default();
                if check(var, c, &values, &self.vars, &|_| Vec::new()).is_ok() {
                    break Ok(());
                }
            }
        };
        match saved {
            Some(v) => {
                self.vars.values.insert("iteration".into(), v);
            }
            None => {
                self.vars.values.remove("iteration");
            }
        }
        outcome
    }

    fn deadline(&self, step: &Step) -> Instant {
        let ms = step.timeout_ms.unwrap_or(self.s.timeout_ms) as f64 * self.opts.timeout_scale;
        Instant::now() + Duration::from_secs_f64((ms / 1000.0).max(0.001))
    }

    async fn exec(&mut self, step: &Step) -> StepResult {
        if !matches!(step.kind, StepKind::Send(_)) {
            self.flush_all().await.map_err(|f| StepFail {
                reason: f.reason,
                ..StepFail::default()
            })?;
        }
        let deadline = self.deadline(step);
        match &step.kind {
            StepKind::Connect(name) => self.connect(name, deadline).await,
            StepKind::Answer(a) => {
                self.answers.push((a.clone(), step.span.clone()));
                self.serve_answers().await
            }
            StepKind::Http(h) => self.http(h, deadline).await,
            StepKind::Send(send) => {
                self.send(&send.actor, send.name.as_deref(), &send.frame)
                    .await
            }
            StepKind::Expect(e) => {
                let frames = self.expect_all(std::slice::from_ref(e), deadline).await?;
                self.after_expect(e, frames.into_iter().next())
            }
            StepKind::ExpectAnyOrder(list) => {
                let frames = self.expect_all(list, deadline).await?;
                for (e, f) in list.iter().zip(frames) {
                    self.after_expect(e, Some(f))?;
                }
                Ok(())
            }
            StepKind::Barrier(names) => {
                for n in names {
                    self.barrier(n, deadline).await?;
                }
                Ok(())
            }
            StepKind::ExpectNoPush(names) => {
                for name in names {
                    self.barrier(name, deadline).await?;
                }
                self.serve_answers().await?;
                for name in names {
                    let actor = self.actor(name)?;
                    let ib = lock(&actor.inbox);
                    if !ib.pushes.is_empty() {
                        return Err(StepFail {
                            frame: None,
                            reason: format!(
                                "{} unexpected frame(s) arrived on `{name}`",
                                ib.pushes.len()
                            ),
                            expected: Some("no frame".into()),
                            actual: Some(summaries(&ib.pushes)),
                        });
                    }
                }
                Ok(())
            }
            StepKind::ExpectClosed(name) => {
                let r = self
                    .wait(name, deadline, |ib| match &ib.closed {
                        Some(Closed::Eof) => Some(Ok(())),
                        Some(Closed::Failed(m)) => Some(Err(StepFail::new(m.clone()))),
                        None => None,
                    })
                    .await;
                match r {
                    Err(WaitEnd::Timeout) => Err(StepFail {
                        frame: None,
                        reason: format!("`{name}` was not closed by the server in time"),
                        expected: Some("connection closed".into()),
                        actual: Some("still open".into()),
                    }),
                    other => other.map_err(|e| self.wait_fail(name, e, "the close")),
                }
            }
            StepKind::Disconnect(name) => {
                let actor = self.actor_mut(name)?;
                actor.close().await;
                self.wire
                    .event(name, "disconnect", "disconnected by the scenario".into());
                Ok(())
            }
            StepKind::Set(pairs) => {
                for (k, v) in pairs {
                    let value = self.vars.interpolate(&v.0)?;
                    self.vars.set(k, value);
                }
                Ok(())
            }
            StepKind::Assert(checks) => {
                for (var, c) in checks {
                    let values = self
                        .vars
                        .values
                        .get(var)
                        .map(Value::as_list)
                        .unwrap_or_default();
                    check(var, c, &values, &self.vars, &|_| Vec::new())?;
                }
                Ok(())
            }
            StepKind::Repeat(_) => Err(StepFail::new("internal: repeat handled by exec_steps")),
        }
    }

    /// The capture scope of `name`'s connections, when the run records them.
    fn scope(&self, name: &str, carried: &str) -> Option<tap::Scope> {
        self.opts.capture.then(|| tap::Scope {
            capture: Arc::clone(&self.wire.capture),
            actor: name.to_owned(),
            protocol: carried.to_owned(),
        })
    }

    fn chop(&self) -> bool {
        self.opts.chop || self.s.id.ends_with(CHOP_SUFFIX)
    }

    /// The protocol an actor speaks: the case's, or MSRP for an MSRP actor of a SIP case.
    fn proto_of(&self, name: &str) -> &'static dyn Protocol {
        self.protos.get(name).copied().unwrap_or(self.proto)
    }

    /// The actor's own address, as `${local:NAME}` gives it.
    fn local(&self, name: &str) -> Option<String> {
        self.vars
            .values
            .get(&format!("local:{name}"))
            .map(Value::text)
    }

    fn actor(&self, name: &str) -> Result<&Actor, StepFail> {
        self.actors.get(name).ok_or_else(|| {
            StepFail::new(format!(
                "`{name}` is not connected (add `connect: {name}` first)"
            ))
        })
    }

    fn actor_mut(&mut self, name: &str) -> Result<&mut Actor, StepFail> {
        self.actors.get_mut(name).ok_or_else(|| {
            StepFail::new(format!(
                "`{name}` is not connected (add `connect: {name}` first)"
            ))
        })
    }

    async fn connect(&mut self, name: &str, deadline: Instant) -> StepResult {
        let endpoint = match self.s.actors.get(name) {
            Some(ActorTarget::Service(s)) => Endpoint::Service(s.clone()),
            Some(ActorTarget::Address(t)) => Endpoint::Address(self.vars.interpolate(&t.0)?),
            None => return Err(StepFail::new(format!("unknown actor `{name}`"))),
        };
        if let Some(mut old) = self.actors.remove(name) {
            old.close().await;
        }
        let (endpoint, proto) = match endpoint {
            Endpoint::Service(s) if s == "msrp" => (Endpoint::Service(s), proto::msrp::module()),
            Endpoint::Service(s) if s == scenario::load::DRIVER => {
                (Endpoint::Service(s), proto::driver::module())
            }
            Endpoint::Address(a) => match proto::msrp::address_of(&a) {
                Some(hp) => (Endpoint::Address(hp), proto::msrp::module()),
                None => (Endpoint::Address(a), self.proto),
            },
            other => (other, self.proto),
        };
        self.protos.insert(name.to_owned(), proto);
        // What the TCP stream carries, for the capture: the gateway transport makes HTTP
        // requests, LeanCloud runs in WebSocket messages.
        let carried = match &endpoint {
            Endpoint::Service(s) if s == gateway::SERVICE => "http",
            Endpoint::Service(s) if s == scenario::load::DRIVER => proto.name(),
            _ if self.s.protocol == scenario::Protocol::LeanCloud => "websocket",
            _ => proto.name(),
        };
        let scope = self.scope(name, carried);
        let opened = tap::within(scope, self.connector.connect(&endpoint));
        let stream = match timeout_at(deadline.into(), opened).await {
            Err(_) if self.connector.accepts() => {
                return Err(StepFail::new(format!(
                    "`{name}`: the client did not connect to the {endpoint} listener in time"
                )));
            }
            Err(_) => {
                self.unreachable = matches!(endpoint, Endpoint::Service(_));
                return Err(StepFail::new(format!(
                    "connecting `{name}` to {endpoint} timed out"
                )));
            }
            Ok(Err(e)) => {
                self.unreachable = matches!(endpoint, Endpoint::Service(_))
                    && matches!(e, TransportError::Unreachable { .. });
                return Err(StepFail::new(format!(
                    "connecting `{name}` to {endpoint}: {e}"
                )));
            }
            Ok(Ok(s)) => s,
        };
        let peer = match &endpoint {
            Endpoint::Service(s) | Endpoint::Address(s) => s.clone(),
        };
        let conn = (carried != "http")
            .then(|| self.wire.capture.latest(name))
            .flatten();
        self.wire.bind(name, &peer, conn, proto.name());
        self.wire
            .event(name, "connect", format!("connected to {endpoint}"));
        let addrs = tap::socket_addrs(&stream);
        // `${local:NAME}`: this connection's own address (a SIP Contact naming the flow).
        let local = addrs.map_or_else(proto::sip::synthetic_local, |(l, _)| l.to_string());
        self.vars.set(&format!("local:{name}"), local);
        let is_driver = matches!(&endpoint, Endpoint::Service(s) if s == scenario::load::DRIVER);
        let stream = if self.s.protocol == scenario::Protocol::LeanCloud
            && !is_driver
            && self.connector.accepts()
        {
            match timeout_at(deadline.into(), ws::accept(stream)).await {
                Err(_) => {
                    return Err(StepFail::new(format!(
                        "the WebSocket handshake of `{name}` timed out"
                    )));
                }
                Ok(Err(e)) => return Err(StepFail::new(format!("`{name}`: {e}"))),
                Ok(Ok((s, subprotocol))) => {
                    self.wire.log(
                        name,
                        Direction::Event,
                        format!("WebSocket subprotocol {subprotocol}"),
                    );
                    s
                }
            }
        } else if self.s.protocol == scenario::Protocol::LeanCloud && !is_driver {
            let options = ws::Options::of(self.s.actor_options.get(name));
            // The Host the server sees: the address dialled (a TCP stream knows it), else the
            // service name (in memory).
            let host = match (&endpoint, addrs.map(|(_, p)| p)) {
                (_, Some(addr)) => addr.to_string(),
                (Endpoint::Service(s), None) => s.clone(),
                (Endpoint::Address(a), None) => first_address(a)
                    .map_err(|e| StepFail::new(e.to_string()))?
                    .to_owned(),
            };
            match timeout_at(deadline.into(), ws::upgrade(stream, &host, &options)).await {
                Err(_) => {
                    return Err(StepFail::new(format!(
                        "the WebSocket handshake of `{name}` timed out"
                    )));
                }
                Ok(Err(e)) => return Err(StepFail::new(format!("`{name}`: {e}"))),
                Ok(Ok(s)) => {
                    self.wire.event(
                        name,
                        "connect",
                        format!("WebSocket subprotocol {}", options.subprotocol()),
                    );
                    s
                }
            }
        } else {
            stream
        };
        let actor = Actor::start(
            name,
            stream,
            proto,
            Arc::clone(&self.wire),
            Arc::clone(&self.notify),
        );
        self.actors.insert(name.to_owned(), actor);
        Ok(())
    }

    /// Checks an expect's `match:` and `xml:` on a frame of `actor`: the protocol's fields, or
    /// the HTTP response view for an actor of `http:` steps.
    fn check_expect(&self, actor: &str, frame: &Frame, e: &Expect) -> Result<(), Mismatch> {
        if self.actors.get(actor).is_some_and(Actor::is_http) {
            expect::check_fields(&gateway::known_field, frame, &e.checks, &e.xml, &self.vars)
        } else {
            check_frame(self.proto_of(actor), frame, &e.checks, &e.xml, &self.vars)
        }
    }

    /// An `http:` step: dials the actor's service, sends the request in a task of its own and
    /// returns; the response arrives as the reply to this request.
    async fn http(&mut self, h: &HttpSend, deadline: Instant) -> StepResult {
        let name = h.actor.as_str();
        let endpoint = match self.s.actors.get(name) {
            Some(ActorTarget::Service(s)) => Endpoint::Service(s.clone()),
            Some(ActorTarget::Address(t)) => Endpoint::Address(self.vars.interpolate(&t.0)?),
            None => return Err(StepFail::new(format!("unknown actor `{name}`"))),
        };
        if self.actors.get(name).is_some_and(|a| !a.is_http()) {
            return Err(StepFail::new(format!(
                "`{name}` has a connection (`connect:`); `http:` steps need an actor of their own"
            )));
        }
        let method = match &h.method {
            Some(m) => self.vars.interpolate(&m.0)?,
            None => "POST".into(),
        };
        let target = self.vars.interpolate(&h.target.0)?;
        let headers = h
            .headers
            .iter()
            .map(|(n, v)| Ok((self.vars.interpolate(n)?, self.vars.interpolate(&v.0)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let body = match &h.body {
            Some(b) => proto::unescape(&self.vars.interpolate(&b.0)?)?,
            None => Vec::new(),
        };
        let scope = self.scope(name, "http");
        let dialled = tap::within(scope, self.connector.dial(&endpoint));
        let stream = match timeout_at(deadline.into(), dialled).await {
            Err(_) => {
                self.unreachable = matches!(endpoint, Endpoint::Service(_));
                return Err(StepFail::new(format!(
                    "connecting `{name}` to {endpoint} timed out"
                )));
            }
            Ok(Err(e)) => {
                self.unreachable = matches!(endpoint, Endpoint::Service(_))
                    && matches!(e, TransportError::Unreachable { .. });
                return Err(StepFail::new(format!(
                    "connecting `{name}` to {endpoint}: {e}"
                )));
            }
            Ok(Ok(s)) => s,
        };
        let host = match &endpoint {
            Endpoint::Address(a) => a.clone(),
            Endpoint::Service(s) => s.clone(),
        };
        self.wire.bind(name, &host, None, "http");
        let request = gateway::HttpRequest {
            method,
            target,
            headers,
            body,
        };
        self.wire.log(name, Direction::SEND, request.describe());
        let actor = self
            .actors
            .entry(name.to_owned())
            .or_insert_with(Actor::http);
        let key = format!("http {}", actor.counter);
        actor.counter += 1;
        lock(&actor.inbox).pending.push(key.clone());
        actor.outstanding.push_back((h.name.clone(), key.clone()));
        let (inbox, wire, notify) = (
            Arc::clone(&actor.inbox),
            Arc::clone(&self.wire),
            Arc::clone(&self.notify),
        );
        let who = name.to_owned();
        actor.spawn_request(async move {
            match gateway::exchange(stream, &request, &host).await {
                Ok(resp) => {
                    wire.log(&who, Direction::RECV, resp.describe());
                    let frame = gateway::response_frame(&resp);
                    let mut ib = lock(&inbox);
                    ib.pending.retain(|k| *k != key);
                    ib.replies.push((key, frame));
                }
                Err(e) => {
                    let m = format!("HTTP request `{key}` ({}) failed: {e}", request.target);
                    wire.event(&who, "close", m.clone());
                    lock(&inbox).closed = Some(Closed::Failed(m));
                }
            }
            notify.send_modify(|v| *v += 1);
        });
        Ok(())
    }

    fn resolve_spec(&self, f: &FrameSpec) -> Result<Spec, StepFail> {
        let t = |x: &Option<Template>| -> Result<Option<String>, StepFail> {
            x.as_ref()
                .map(|t| self.vars.interpolate(&t.0))
                .transpose()
                .map_err(StepFail::from)
        };
        let pairs = |v: &[(String, Template)]| -> Result<Vec<(String, String)>, StepFail> {
            v.iter()
                .map(|(n, t)| Ok((self.vars.interpolate(n)?, self.vars.interpolate(&t.0)?)))
                .collect::<Result<_, String>>()
                .map_err(StepFail::from)
        };
        let reply_to = match &f.reply_to {
            Some(n) => Some(self.vars.frames.get(n).cloned().ok_or_else(|| {
                StepFail::new(format!(
                    "`reply_to: {n}`: no frame stored as `{n}` (use `as: {n}` on an expect)"
                ))
            })?),
            None => None,
        };
        Ok(Spec {
            method: t(&f.method)?,
            status: t(&f.status)?,
            reason: t(&f.reason)?,
            target: t(&f.target)?,
            version: t(&f.version)?,
            verb: t(&f.verb)?,
            trid: t(&f.trid)?,
            length: t(&f.length)?,
            headers: pairs(&f.headers)?,
            blocks: f
                .blocks
                .iter()
                .map(|b| pairs(b))
                .collect::<Result<_, _>>()?,
            body: t(&f.body)?,
            reply_to,
            local: None,
            command: f.command.as_ref().map(|c| self.tree(c)).transpose()?,
        })
    }

    /// A written LeanCloud command with its templates resolved, as JSON.
    fn tree(&self, t: &Tree) -> Result<serde_json::Value, StepFail> {
        use serde_json::Value as J;
        Ok(match t {
            Tree::Null => J::Null,
            Tree::Bool(b) => J::Bool(*b),
            Tree::Number(n) => {
                serde_json::from_str(n).map_err(|e| StepFail::new(format!("number `{n}`: {e}")))?
            }
            Tree::Str(s) => J::String(self.vars.interpolate(&s.0)?),
            Tree::List(l) => J::Array(l.iter().map(|x| self.tree(x)).collect::<Result<_, _>>()?),
            Tree::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| Ok((self.vars.interpolate(k)?, self.tree(v)?)))
                    .collect::<Result<_, StepFail>>()?,
            ),
        })
    }

    async fn send(&mut self, name: &str, as_name: Option<&str>, f: &FrameSpec) -> StepResult {
        let proto = self.proto_of(name);
        let bytes = match &f.raw {
            Some(raw) => proto.raw(proto::unescape(&self.vars.interpolate(&raw.0)?)?),
            None => {
                let mut spec = self.resolve_spec(f)?;
                spec.local = self.local(name);
                let counter = self.actor(name)?.counter;
                let bytes = proto.build(&spec, counter)?;
                self.actor_mut(name)?.counter += 1;
                bytes
            }
        };
        // The sent frame is decoded only when a step names it (`as:`); the key needs less.
        let mut key = proto.request_key_of(&bytes);
        // Playing the server (client cases), a frame that would pair as a reply if it came
        // from the server (`session/opened` with the client's `i`, a SIP response) answers the
        // client and waits for nothing.
        if key.is_some() && self.connector.accepts() {
            let is_reply = match proto.parse(&bytes) {
                Ok(imspec_codec::Status::Complete((frame, _))) => {
                    proto.pairing(&frame) != proto::Pairing::Push
                }
                _ => false,
            };
            if is_reply {
                key = None;
            }
        }
        let chop = self.chop();
        let actor = self
            .actors
            .get_mut(name)
            .ok_or_else(|| StepFail::new(format!("`{name}` is not connected")))?;
        if actor.is_http() {
            return Err(StepFail::new(format!(
                "`{name}` is an actor of `http:` steps; it has no connection to `send:` on"
            )));
        }
        if !actor.is_open() {
            return Err(StepFail::new(format!("`{name}` was disconnected")));
        }
        if let Some(k) = &key {
            lock(&actor.inbox).pending.push(k.clone());
            actor
                .outstanding
                .push_back((as_name.map(str::to_owned), k.clone()));
        }
        self.wire
            .frame(name, Direction::SEND, &bytes, proto.log_text(&bytes));
        if let Some(n) = as_name {
            let frame = match proto.parse(&bytes) {
                Ok(imspec_codec::Status::Complete((frame, used))) if used == bytes.len() => frame,
                _ => Frame::opaque(bytes.clone()),
            };
            self.vars.frames.insert(n.to_owned(), frame);
        }
        if chop {
            actor.out_buf.extend_from_slice(&bytes);
            Ok(())
        } else {
            actor
                .write(&bytes, None)
                .await
                .map_err(|e| StepFail::new(format!("writing to `{name}` failed: {e}")))
        }
    }

    async fn flush_all(&mut self) -> Result<(), Failure> {
        let names: Vec<String> = self
            .actors
            .iter()
            .filter(|(_, a)| !a.out_buf.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for n in names {
            let Some(actor) = self.actors.get_mut(&n) else {
                continue;
            };
            let bytes = std::mem::take(&mut actor.out_buf);
            actor
                .write(&bytes, Some(&mut self.rng))
                .await
                .map_err(|e| Failure {
                    reason: format!("writing to `{n}` failed: {e}"),
                    ..Failure::default()
                })?;
        }
        Ok(())
    }

    /// Waits until `f` finds what it looks for in `name`'s inbox, the connection ends, or the deadline.
    async fn wait<T>(
        &mut self,
        name: &str,
        deadline: Instant,
        mut f: impl FnMut(&mut Inbox) -> Option<Result<T, StepFail>>,
    ) -> Result<T, WaitEnd> {
        let inbox = Arc::clone(&self.actor(name).map_err(WaitEnd::Fail)?.inbox);
        loop {
            self.rx.borrow_and_update();
            self.serve_answers().await.map_err(WaitEnd::Fail)?;
            {
                let mut ib = lock(&inbox);
                if let Some(r) = f(&mut ib) {
                    return r.map_err(WaitEnd::Fail);
                }
                if let Some(c) = &ib.closed {
                    return Err(WaitEnd::Closed(c.clone()));
                }
            }
            match timeout_at(deadline.into(), self.rx.changed()).await {
                Err(_) => return Err(WaitEnd::Timeout),
                Ok(Err(_)) => return Err(WaitEnd::Closed(Closed::Eof)),
                Ok(Ok(())) => {}
            }
        }
    }

    fn wait_fail(&self, name: &str, e: WaitEnd, what: &str) -> StepFail {
        match e {
            WaitEnd::Fail(f) => f,
            WaitEnd::Closed(Closed::Eof) if self.is_driver(name) => StepFail::new(format!(
                "`{name}`: the driver closed its output (exited) before {what}"
            )),
            WaitEnd::Closed(Closed::Eof) => StepFail::new(format!(
                "`{name}`: the {} closed the connection before {what}",
                if self.connector.accepts() {
                    "client"
                } else {
                    "server"
                }
            )),
            WaitEnd::Closed(Closed::Failed(m)) => StepFail::new(format!("`{name}`: {m}")),
            WaitEnd::Timeout => {
                let pushes = self
                    .actors
                    .get(name)
                    .map(|a| summaries(&lock(&a.inbox).pushes))
                    .unwrap_or_default();
                StepFail {
                    frame: None,
                    reason: format!("`{name}`: no {what} within {}", self.timeout_text()),
                    expected: Some(what.to_owned()),
                    actual: Some(if pushes.is_empty() {
                        "nothing arrived".into()
                    } else {
                        format!("unpaired frames: {pushes}")
                    }),
                }
            }
        }
    }

    /// Whether `name` is the driver actor of a client case.
    fn is_driver(&self, name: &str) -> bool {
        matches!(self.s.actors.get(name), Some(ActorTarget::Service(s)) if s == scenario::load::DRIVER)
    }

    fn timeout_text(&self) -> String {
        format!("the step timeout (scale {})", self.opts.timeout_scale)
    }

    async fn barrier(&mut self, name: &str, deadline: Instant) -> StepResult {
        if self.actor(name)?.is_http() {
            return Err(StepFail::new(format!(
                "`{name}` is an actor of `http:` steps: it has no connection to make a barrier on"
            )));
        }
        // A Fetion target that does not claim KeepAlive gets quiet barriers: its round trip
        // would test KeepAlive in every case that needs a barrier.
        let no_keepalive = self.s.protocol == scenario::Protocol::Fetion
            && !self.opts.profile.claims("fetion.keepalive");
        if self.opts.profile.barrier == BarrierMode::Quiet || no_keepalive {
            let ms = self.opts.profile.quiet_ms.unwrap_or(QUIET_MS);
            let quiet = Duration::from_secs_f64(ms as f64 * self.opts.timeout_scale / 1000.0);
            self.wire
                .event(name, "barrier", format!("barrier: {ms} ms of quiet"));
            tokio::time::sleep(quiet).await;
            return match lock(&self.actor(name)?.inbox).closed.clone() {
                Some(Closed::Failed(m)) => Err(StepFail::new(m)),
                _ => Ok(()),
            };
        }
        let proto = self.proto_of(name);
        let mut spec = proto.barrier();
        spec.local = self.local(name);
        let counter = self.actor(name)?.counter;
        let bytes = proto.build(&spec, counter)?;
        let key = match proto.parse(&bytes) {
            Ok(imspec_codec::Status::Complete((fr, _))) => proto.request_key(&fr),
            _ => None,
        }
        .ok_or_else(|| StepFail::new("internal: the barrier request has no reply key"))?;
        let actor = self.actor_mut(name)?;
        actor.counter += 1;
        lock(&actor.inbox).pending.push(key.clone());
        self.wire
            .event(name, "barrier", "barrier: a round trip".into());
        self.wire
            .frame(name, Direction::SEND, &bytes, proto.log_text(&bytes));
        let rng = if self.chop() {
            Some(&mut self.rng)
        } else {
            None
        };
        let actor = self
            .actors
            .get_mut(name)
            .ok_or_else(|| StepFail::new("not connected"))?;
        actor
            .write(&bytes, rng)
            .await
            .map_err(|e| StepFail::new(format!("writing to `{name}` failed: {e}")))?;
        let what = format!("answer to the barrier `{}`", proto::first_line(&bytes));
        self.wait(name, deadline, |ib| take_reply(ib, &key).map(Ok))
            .await
            .map(|_| ())
            .map_err(|e| self.wait_fail(name, e, &what))
    }

    /// Waits for every expect's frame (in any order) and checks them; returns the frames in
    /// the order of `list`.
    async fn expect_all(
        &mut self,
        list: &[Expect],
        deadline: Instant,
    ) -> Result<Vec<Frame>, StepFail> {
        // Reply expects take their request now, so a later expect cannot claim it.
        let mut keys: Vec<Option<String>> = Vec::new();
        for e in list {
            let actor = self.actor_mut(&e.actor)?;
            let key = match &e.source {
                ExpectSource::Push => None,
                ExpectSource::NextReply => Some(
                    actor
                        .outstanding
                        .pop_front()
                        .ok_or_else(|| StepFail::new(format!("`{}` has no request waiting for a reply (send one first, or use `push: true`)", e.actor)))?
                        .1,
                ),
                ExpectSource::Reply(n) => {
                    let pos = actor.outstanding.iter().position(|(name, _)| name.as_deref() == Some(n)).ok_or_else(|| {
                        StepFail::new(format!("`{}` has no request named `{n}` waiting for a reply (its reply may already have been expected)", e.actor))
                    })?;
                    actor.outstanding.remove(pos).map(|x| x.1)
                }
            };
            keys.push(key);
        }
        let mut got: Vec<Option<Frame>> = vec![None; list.len()];
        loop {
            self.rx.borrow_and_update();
            self.serve_answers().await?;
            for (i, e) in list.iter().enumerate() {
                if got[i].is_some() {
                    continue;
                }
                let inbox = Arc::clone(&self.actor(&e.actor)?.inbox);
                let mut ib = lock(&inbox);
                match &keys[i] {
                    Some(k) => {
                        if let Some(frame) = take_reply(&mut ib, k) {
                            drop(ib);
                            self.check_expect(&e.actor, &frame, e)
                                .map_err(|m| StepFail {
                                    reason: format!(
                                        "reply to `{k}` on `{}`: {}",
                                        e.actor, m.reason
                                    ),
                                    expected: Some(m.expected),
                                    actual: Some(format!(
                                        "{}\n  in frame: {}",
                                        m.actual,
                                        short(&proto::escape(&frame.bytes))
                                    )),
                                    frame: Some(frame.bytes.clone()),
                                })
                                .map_err(|f| item_fail(list, e, f))?;
                            got[i] = Some(frame);
                            continue;
                        }
                    }
                    None => {
                        let pos = ib
                            .pushes
                            .iter()
                            .position(|f| self.check_expect(&e.actor, f, e).is_ok());
                        if let Some(p) = pos {
                            got[i] = ib.pushes.remove(p);
                            continue;
                        }
                    }
                }
                if let Some(c) = ib.closed.clone() {
                    drop(ib);
                    let what = match &keys[i] {
                        Some(k) => format!("reply to `{k}`"),
                        None => "matching push".into(),
                    };
                    let f = self.wait_fail(&e.actor, WaitEnd::Closed(c), &what);
                    return Err(item_fail(list, e, f));
                }
            }
            if got.iter().all(Option::is_some) {
                return Ok(got.into_iter().flatten().collect());
            }
            match timeout_at(deadline.into(), self.rx.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    let Some(i) = got.iter().position(Option::is_none) else {
                        continue;
                    };
                    let e = &list[i];
                    let f = match &keys[i] {
                        Some(k) => {
                            self.wait_fail(&e.actor, WaitEnd::Timeout, &format!("reply to `{k}`"))
                        }
                        None => self.no_push(e),
                    };
                    return Err(item_fail(list, e, f));
                }
            }
        }
    }

    /// Takes every queued push that an `answer:` step in force matches out of its queue and
    /// answers it (the oldest step first), until none is left. Runs wherever the runner
    /// waits, so a peer waiting for its answer is never stuck behind the step being run.
    async fn serve_answers(&mut self) -> StepResult {
        while let Some((n, frame)) = self.answerable() {
            let (a, span) = self.answers[n].clone();
            let actor = a.when.actor.as_str();
            self.wire.log(
                actor,
                Direction::Event,
                format!("answered by the `answer:` step at {span}"),
            );
            if let Some(name) = &a.when.name {
                self.vars.frames.insert(name.clone(), frame);
            }
            self.send(actor, None, &a.frame)
                .await
                .map_err(|f| StepFail {
                    reason: format!(
                        "answering `{actor}` (the `answer:` step at {span}): {}",
                        f.reason
                    ),
                    ..f
                })?;
            self.flush_all()
                .await
                .map_err(|f| StepFail::new(f.reason))?;
        }
        Ok(())
    }

    /// The first `answer:` step in force (its index) with a queued push it matches, and that
    /// push, taken out of the queue.
    fn answerable(&self) -> Option<(usize, Frame)> {
        self.answers.iter().enumerate().find_map(|(n, (a, _))| {
            let actor = self.actors.get(&a.when.actor).filter(|x| x.is_open())?;
            let mut ib = lock(&actor.inbox);
            let p = ib
                .pushes
                .iter()
                .position(|f| self.check_expect(&a.when.actor, f, &a.when).is_ok())?;
            Some((n, ib.pushes.remove(p)?))
        })
    }

    fn no_push(&self, e: &Expect) -> StepFail {
        let Some(actor) = self.actors.get(&e.actor) else {
            return StepFail::new(format!("`{}` is not connected", e.actor));
        };
        let ib = lock(&actor.inbox);
        let wanted = e
            .checks
            .iter()
            .map(|(f, c)| format!("{f}: {}", expect::yaml(c, &self.vars)))
            .collect::<Vec<_>>()
            .join(", ");
        let first_mismatch = ib
            .pushes
            .front()
            .and_then(|f| self.check_expect(&e.actor, f, e).err());
        StepFail {
            frame: ib
                .pushes
                .front()
                .filter(|_| first_mismatch.is_some())
                .map(|f| f.bytes.clone()),
            reason: match first_mismatch {
                Some(m) => format!(
                    "`{}`: no push matching the checks within {}; the first queued one fails: {}",
                    e.actor,
                    self.timeout_text(),
                    m.reason
                ),
                None => format!(
                    "`{}`: no push arrived within {}",
                    e.actor,
                    self.timeout_text()
                ),
            },
            expected: Some(if wanted.is_empty() {
                "any push".into()
            } else {
                wanted
            }),
            actual: Some(if ib.pushes.is_empty() {
                "no push queued".into()
            } else {
                summaries(&ib.pushes)
            }),
        }
    }

    fn after_expect(&mut self, e: &Expect, frame: Option<Frame>) -> StepResult {
        for (name, c) in &e.captures {
            let var = self.vars.interpolate(&name.0)?;
            let value = expect::capture(c, frame.as_ref(), &self.vars)
                .map_err(|m| StepFail::new(format!("capture `{var}`: {m}")))?;
            let value = match (c.append, value, self.vars.values.remove(&var)) {
                (true, Value::List(mut new), Some(old)) => {
                    let mut all = old.as_list();
                    all.append(&mut new);
                    Value::List(all)
                }
                (true, Value::Str(s), Some(old)) => {
                    let mut all = old.as_list();
                    all.push(s);
                    Value::List(all)
                }
                (_, v, _) => v,
            };
            self.vars.values.insert(var, value);
        }
        if let (Some(n), Some(f)) = (&e.name, frame) {
            self.vars.frames.insert(n.clone(), f);
        }
        Ok(())
    }
}

enum WaitEnd {
    Fail(StepFail),
    Closed(Closed),
    Timeout,
}

fn take_reply(ib: &mut Inbox, key: &str) -> Option<Frame> {
    let pos = ib.replies.iter().position(|(k, _)| k == key)?;
    Some(ib.replies.remove(pos).1)
}

fn summaries<'f>(frames: impl IntoIterator<Item = &'f Frame>) -> String {
    let all: Vec<String> = frames.into_iter().map(|f| f.summary.clone()).collect();
    let n = all.len();
    let mut shown: Vec<String> = all.into_iter().take(8).collect();
    if n > 8 {
        shown.push(format!("… {} more", n - 8));
    }
    shown.join(" | ")
}

/// The failure of one item of an `expect_any_order` step names the item's place and note.
fn item_fail(list: &[Expect], e: &Expect, f: StepFail) -> StepFail {
    if list.len() < 2 {
        return f;
    }
    let note = e
        .note
        .as_deref()
        .map_or_else(String::new, |n| format!("; note: {n}"));
    StepFail {
        reason: format!("{} (the item at {}{note})", f.reason, e.span),
        ..f
    }
}

/// A step as its file shows it: `3`, `7.2` inside a repeat, and for a step of a fragment
/// `fragment fetion/login step 3, included at 001-x.yaml:14` (each include, innermost first).
fn step_label(prefix: &str, step: &Step, index: usize) -> String {
    let number = if step.origin.number == 0 {
        index + 1
    } else {
        step.origin.number
    };
    let mut out = format!("{prefix}{number}");
    for (n, inc) in step.origin.included.iter().enumerate() {
        let file = inc
            .at
            .file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if n == 0 {
            out = format!("fragment {} step {out}", inc.fragment);
        }
        out = format!("{out}, included at {file}:{}", inc.at.line);
    }
    out
}

/// The actor a step reads or writes, if one.
fn step_actor(kind: &StepKind) -> Option<String> {
    match kind {
        StepKind::Barrier(a) | StepKind::ExpectNoPush(a) => a.first().cloned(),
        StepKind::Connect(a) | StepKind::Disconnect(a) | StepKind::ExpectClosed(a) => {
            Some(a.clone())
        }
        StepKind::Http(h) => Some(h.actor.clone()),
        StepKind::Expect(e) => Some(e.actor.clone()),
        StepKind::Answer(a) => Some(a.when.actor.clone()),
        StepKind::ExpectAnyOrder(l) => l.first().map(|e| e.actor.clone()),
        StepKind::Send(s) => Some(s.actor.clone()),
        StepKind::Assert(_) | StepKind::Repeat(_) | StepKind::Set(_) => None,
    }
}

/// A short description of a step for reports.
pub fn action(kind: &StepKind) -> String {
    match kind {
        StepKind::Answer(a) => format!("answer {}", a.when.actor),
        StepKind::Assert(v) => format!(
            "assert {}",
            v.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        StepKind::Barrier(a) => format!("barrier {}", a.join(", ")),
        StepKind::Connect(a) => format!("connect {a}"),
        StepKind::Disconnect(a) => format!("disconnect {a}"),
        StepKind::Http(h) => format!("http {}", h.actor),
        StepKind::Expect(e) => match &e.source {
            ExpectSource::Push => format!("expect push on {}", e.actor),
            ExpectSource::NextReply => format!("expect reply on {}", e.actor),
            ExpectSource::Reply(n) => format!("expect reply to {n} on {}", e.actor),
        },
        StepKind::ExpectAnyOrder(l) => format!("expect_any_order ({} frames)", l.len()),
        StepKind::ExpectClosed(a) => format!("expect_closed {a}"),
        StepKind::ExpectNoPush(a) => format!("expect_no_push {}", a.join(", ")),
        StepKind::Repeat(_) => "repeat".into(),
        StepKind::Send(s) => format!("send {}", s.actor),
        StepKind::Set(v) => format!(
            "set {}",
            v.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::scenario::{Include, Origin, Span};

    #[test]
    fn issue_15_step_labels_count_as_the_file_shows_with_the_include_chain() {
        // Why: steps were numbered after fragments were spliced in, so `step 9` was nowhere.
        let at = |file: &str, line| Span {
            file: PathBuf::from(file),
            line,
            column: 3,
        };
        let mut step = Step {
            kind: StepKind::Connect("a".into()),
            span: at("scenarios/fetion/fragments/login.yaml", 9),
            timeout_ms: None,
            note: None,
            origin: Origin {
                number: 3,
                included: Vec::new(),
            },
        };
        assert_eq!(step_label("", &step, 7), "3");
        assert_eq!(step_label("4.", &step, 7), "4.3");
        step.origin.included = vec![
            Include {
                fragment: "fetion/login".into(),
                at: at("scenarios/fetion/fragments/conversation.yaml", 5),
            },
            Include {
                fragment: "fetion/conversation".into(),
                at: at("scenarios/fetion/001-x.yaml", 14),
            },
        ];
        assert_eq!(
            step_label("", &step, 7),
            "fragment fetion/login step 3, included at conversation.yaml:5, included at 001-x.yaml:14"
        );
    }
}
