//! The runner: replays a [`Scenario`] against a target through a [`Connector`] and returns
//! a [`CaseResult`] (plain data). A target that breaks the protocol is not a Rust error but a
//! failed case with the step, expected, actual and the wire log.
//!
//! The runner knows protocols only through [`crate::proto::Protocol`] and connections only as
//! the byte streams a [`Connector`] gives it. Its parts, one concept each:
//!
//! * this module: running cases (one, timed, many at a time, repeated) and skipping them;
//! * [`options`]: how to run ([`RunOptions`]); `case`: one running case's state and the
//!   failure of a step;
//! * `steps`: the step loop (`repeat`, step labels, the dispatch of each step kind);
//! * `connect`: `connect:` (the transport's stream, then the protocol's opening handshake);
//! * `http`: `http:` steps; `send`: `send:` (building frames) and `--chop` flushing;
//! * `barrier`: `barrier:` round trips and quiet periods; `wait`: waiting for replies,
//!   pushes and closes (`expect:`, `expect_any_order:`) and what a wait that fails reports;
//! * [`actor`]: one connection's read loop; [`expect`]: matching; [`vars`]: templates;
//!   [`twins`]: gateway and chop twins; [`result`]: what a case returns.

pub mod actor;
mod answer;
mod barrier;
mod case;
mod connect;
pub mod expect;
mod http;
pub mod options;
pub mod profile;
pub mod result;
mod send;
mod steps;
pub mod twins;
pub mod vars;
mod wait;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::scenario::{ActorTarget, Scenario};
use crate::transport::Connector;

pub use options::{MAX_TIMES, QUIET_MS, RunOptions};
pub use profile::{BarrierMode, Profile};
pub use result::StepTime;
pub use result::{
    CaseResult, Chunk, Connection, Direction, Failure, Verdict, Waited, Way, WireEntry,
};
pub use steps::action;
pub use twins::{CHOP_SUFFIX, is_gateway_case, over_gateway, with_chop_twins, with_twins};

use actor::{Signal, Wire};
use case::Case;
use vars::{Vars, fnv};

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
        proto: s.protocol.module(),
        protos: BTreeMap::new(),
        vars,
        actors: BTreeMap::new(),
        wire: Arc::clone(&wire),
        signal: Arc::new(Signal::default()),
        rng: fnv(s.id.as_bytes()),
        unreachable: false,
        answers: Vec::new(),
        times,
        timer: None,
    };
    let outcome = case.exec_steps(&s.steps, "", None).await;
    let outcome = match outcome {
        Ok(()) => case.flush_all().await.map_err(|f| Failure {
            step: "end".into(),
            ..f
        }),
        Err(f) => Err(f),
    };
    for a in case.actors.values_mut() {
        a.close(Instant::now()).await;
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
