//! `imspec load`: one scenario run as a load, its instances executed by the [`runner`].
//!
//! The schedule is an open model when a rate is given: instance `i` is due at
//! `t0 + i / rate` whether or not earlier ones have finished, and a `concurrency` cap only
//! delays starts. Latency is measured from the *scheduled* start, so time spent waiting for
//! the cap or for a late scheduler counts (coordinated omission, as wrk2 and HdrHistogram
//! define it); the start delay is reported on its own too. Without a rate the load is closed:
//! an instance starts when a slot is free and is due when it starts.
//!
//! Each instance is a whole [`runner::run_timed`] of the scenario: its own connections,
//! variables (a fresh `run_id`, so `${fresh:…}` names differ) and verdict. Latencies of
//! instances that passed go into HdrHistograms (1 µs to 1 h, 3 significant digits): the case
//! from its scheduled start, and each step that passed. Failures are counted by step and reason.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{Semaphore, mpsc};

use crate::runner::{self, CaseResult, RunOptions, StepTime};
use crate::scenario::Scenario;
use crate::transport::Connector;

/// Most instances one load may run.
pub const MAX_COUNT: u64 = 1_000_000;
/// Longest schedule one load may run.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Most distinct failure reasons kept; further ones are counted under [`OTHER_REASONS`].
pub const MAX_REASONS: usize = 32;
/// The failure key of reasons beyond [`MAX_REASONS`].
pub const OTHER_REASONS: &str = "(other reasons)";

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Most instances (at most [`MAX_COUNT`]).
    pub count: u64,
    /// Instances started per second; `None` for a closed loop.
    pub rate: Option<f64>,
    /// Most instances in flight.
    pub concurrency: usize,
    /// Stop scheduling after this long (at most [`MAX_DURATION`]).
    pub duration: Option<Duration>,
}

impl Options {
    /// Checks the bounds; the message names the flag.
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 || self.count > MAX_COUNT {
            return Err(format!("--count must be between 1 and {MAX_COUNT}"));
        }
        if let Some(r) = self.rate
            && !(r > 0.0 && r.is_finite())
        {
            return Err("--rate must be a positive number".into());
        }
        if self.concurrency == 0 {
            return Err("--concurrency must be at least 1".into());
        }
        if let Some(d) = self.duration
            && (d.is_zero() || d > MAX_DURATION)
        {
            return Err(format!(
                "--duration must be more than 0 and at most {} s",
                MAX_DURATION.as_secs()
            ));
        }
        Ok(())
    }

    /// When instance `i` is due, relative to the load's start (`None`: when a slot is free).
    fn due(&self, i: u64) -> Option<Duration> {
        self.rate.map(|r| Duration::from_secs_f64(i as f64 / r))
    }
}

/// Latency percentiles of one histogram, in milliseconds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p99_9_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

/// One step's latencies.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StepSummary {
    /// The step's index path (`4`, `3.2` inside a repeat).
    pub step: String,
    /// What it does (`expect alice`).
    pub action: String,
    /// Its durations in instances where it passed.
    #[serde(flatten)]
    pub latency: Summary,
}

/// One second of the load (from its start), for plotting.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Second {
    /// Seconds since the load started.
    pub second: u64,
    /// Instances due in this second.
    pub offered: u64,
    /// Instances started in this second.
    pub started: u64,
    /// Instances that passed, by the second they ended in.
    pub passed: u64,
    /// Instances that failed, by the second they ended in.
    pub failed: u64,
    /// Median case latency of the instances that passed in this second.
    pub p50_ms: f64,
    /// 99th percentile of the same.
    pub p99_ms: f64,
    /// Largest of the same.
    pub max_ms: f64,
}

/// What a load measured (plain data: the CLI renders it as text, JSON and CSV).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    /// The scenario's id.
    pub scenario: String,
    /// Instances scheduled (due within the duration, up to the count).
    pub scheduled: u64,
    /// Instances that passed.
    pub passed: u64,
    /// Instances that failed (any verdict but pass).
    pub failed: u64,
    /// Whether an instance could not connect to a target.
    pub unreachable: bool,
    /// The rate asked for, instances per second (`None`: closed loop).
    pub offered_rate: Option<f64>,
    /// Instances started per second, from the load's start to the last start.
    pub start_rate: f64,
    /// Instances finished per second, from the load's start to the last end.
    pub throughput: f64,
    /// From the load's start to the last instance's end, in seconds.
    pub elapsed_s: f64,
    /// Case latency from the scheduled start, instances that passed.
    pub case: Summary,
    /// How late instances started (the scheduler or the concurrency cap), all instances.
    pub start_delay: Summary,
    /// Per step, in order of first completion.
    pub steps: Vec<StepSummary>,
    /// Failed instances counted by `step N (action): reason`.
    pub failures: BTreeMap<String, u64>,
    /// Per-second figures.
    pub seconds: Vec<Second>,
}

/// A snapshot for a live progress line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Seconds since the load started.
    pub elapsed: Duration,
    /// Instances started so far.
    pub started: u64,
    /// Instances that passed so far.
    pub passed: u64,
    /// Instances that failed so far.
    pub failed: u64,
    /// Instances that will be scheduled at most.
    pub planned: u64,
    /// Median case latency so far (ms).
    pub p50_ms: f64,
    /// 99th percentile so far (ms).
    pub p99_ms: f64,
}

/// Runs `scenario` as a load against `connector`'s targets; `progress` is called about four
/// times a second while it runs.
pub async fn load(
    scenario: Arc<Scenario>,
    opts: &Options,
    run_opts: &RunOptions,
    connector: Arc<dyn Connector>,
    mut progress: impl FnMut(&Progress),
) -> Report {
    let planned = planned(opts);
    let t0 = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel::<Done>();
    let (started_tx, mut started_rx) = mpsc::unbounded_channel::<Duration>();
    let scheduler = {
        let (scenario, run_opts, opts) = (Arc::clone(&scenario), run_opts.clone(), opts.clone());
        tokio::spawn(schedule(
            scenario, opts, planned, run_opts, connector, t0, tx, started_tx,
        ))
    };
    let mut tally = Tally::new(&scenario.id);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut open = true;
    loop {
        tokio::select! {
            done = rx.recv() => match done {
                Some(done) => tally.add(done),
                None => break,
            },
            at = started_rx.recv(), if open => match at {
                Some(at) => tally.started(at),
                None => open = false,
            },
            _ = tick.tick() => progress(&tally.progress(t0.elapsed(), planned)),
        }
    }
    while let Ok(at) = started_rx.try_recv() {
        tally.started(at);
    }
    let scheduled = scheduler.await.unwrap_or(0);
    progress(&tally.progress(t0.elapsed(), planned));
    tally.report(scheduled, opts.rate)
}

/// How many instances the schedule may hold: the count, capped by what the rate fits in the
/// duration.
fn planned(opts: &Options) -> u64 {
    match (opts.rate, opts.duration) {
        (Some(r), Some(d)) => opts.count.min((d.as_secs_f64() * r).ceil() as u64),
        _ => opts.count,
    }
}

/// One finished instance.
struct Done {
    /// Due, relative to the load's start.
    due: Duration,
    /// Started, relative to the load's start.
    started: Duration,
    /// Ended, relative to the load's start.
    ended: Duration,
    result: CaseResult,
    times: Vec<StepTime>,
}

/// Starts instances on schedule; returns how many it scheduled.
#[allow(clippy::too_many_arguments)] // one spawned task's whole state
async fn schedule(
    scenario: Arc<Scenario>,
    opts: Options,
    planned: u64,
    run_opts: RunOptions,
    connector: Arc<dyn Connector>,
    t0: Instant,
    tx: mpsc::UnboundedSender<Done>,
    started_tx: mpsc::UnboundedSender<Duration>,
) -> u64 {
    let slots = Arc::new(Semaphore::new(opts.concurrency));
    let run_opts = Arc::new(run_opts);
    let mut scheduled = 0;
    for i in 0..planned {
        let due = match opts.due(i) {
            Some(due) => {
                if opts.duration.is_some_and(|d| due >= d) {
                    break;
                }
                tokio::time::sleep_until((t0 + due).into()).await;
                due
            }
            None => Duration::ZERO,
        };
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        let started = t0.elapsed();
        if opts.rate.is_none() && opts.duration.is_some_and(|d| started >= d) {
            break;
        }
        // Closed loop: an instance is due when a slot frees up.
        let due = if opts.rate.is_some() { due } else { started };
        scheduled += 1;
        let _ = started_tx.send(started);
        let (scenario, run_opts, connector, tx) = (
            Arc::clone(&scenario),
            Arc::clone(&run_opts),
            Arc::clone(&connector),
            tx.clone(),
        );
        tokio::spawn(async move {
            let (result, times) = runner::run_timed(&scenario, &run_opts, connector.as_ref()).await;
            drop(slot);
            let _ = tx.send(Done {
                due,
                started,
                ended: t0.elapsed(),
                result,
                times,
            });
        });
    }
    scheduled
}

/// Histograms and counters as instances finish.
struct Tally {
    scenario: String,
    started: u64,
    passed: u64,
    failed: u64,
    unreachable: bool,
    last_start: Duration,
    last_end: Duration,
    case: Histogram<u64>,
    delay: Histogram<u64>,
    /// Keyed by step path and action, in order of first completion.
    steps: Vec<(String, String, Histogram<u64>)>,
    failures: BTreeMap<String, u64>,
    seconds: Vec<(Second, Histogram<u64>)>,
}

impl Tally {
    fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            started: 0,
            passed: 0,
            failed: 0,
            unreachable: false,
            last_start: Duration::ZERO,
            last_end: Duration::ZERO,
            case: histogram(),
            delay: histogram(),
            steps: Vec::new(),
            failures: BTreeMap::new(),
            seconds: Vec::new(),
        }
    }

    fn second(&mut self, at: Duration) -> &mut (Second, Histogram<u64>) {
        let s = usize::try_from(at.as_secs()).unwrap_or(usize::MAX);
        while self.seconds.len() <= s {
            let second = self.seconds.len() as u64;
            self.seconds.push((
                Second {
                    second,
                    ..Second::default()
                },
                histogram(),
            ));
        }
        &mut self.seconds[s]
    }

    fn started(&mut self, at: Duration) {
        self.started += 1;
        self.last_start = self.last_start.max(at);
        self.second(at).0.started += 1;
    }

    fn add(&mut self, d: Done) {
        self.last_end = self.last_end.max(d.ended);
        self.second(d.due).0.offered += 1;
        record(&mut self.delay, d.started.saturating_sub(d.due));
        self.unreachable |= d.result.unreachable;
        if let Some(f) = &d.result.failure {
            self.failed += 1;
            self.second(d.ended).0.failed += 1;
            let reason = f.reason.lines().next().unwrap_or_default();
            let key = if f.step.is_empty() {
                format!("{}: {}", d.result.verdict.name(), short(reason))
            } else {
                // Every iteration of a repeat fails alike: one key for them all.
                let step = f.step.split(" (iteration").next().unwrap_or_default();
                format!("step {step} ({}): {}", f.action, short(reason))
            };
            let key = if self.failures.contains_key(&key) || self.failures.len() < MAX_REASONS {
                key
            } else {
                OTHER_REASONS.to_owned()
            };
            *self.failures.entry(key).or_default() += 1;
            return;
        }
        self.passed += 1;
        let latency = d.ended.saturating_sub(d.due);
        record(&mut self.case, latency);
        let second = self.second(d.ended);
        second.0.passed += 1;
        record(&mut second.1, latency);
        for t in d.times {
            let at = self
                .steps
                .iter()
                .position(|(step, action, _)| *step == t.step && *action == t.action);
            let h = match at {
                Some(at) => &mut self.steps[at].2,
                None => {
                    self.steps.push((t.step, t.action, histogram()));
                    let last = self.steps.len() - 1;
                    &mut self.steps[last].2
                }
            };
            record(h, t.elapsed);
        }
    }

    fn progress(&self, elapsed: Duration, planned: u64) -> Progress {
        Progress {
            elapsed,
            started: self.started,
            passed: self.passed,
            failed: self.failed,
            planned,
            p50_ms: ms(self.case.value_at_quantile(0.5)),
            p99_ms: ms(self.case.value_at_quantile(0.99)),
        }
    }

    fn report(self, scheduled: u64, rate: Option<f64>) -> Report {
        let per_s = |n: u64, over: Duration| {
            if over.is_zero() {
                0.0
            } else {
                n as f64 / over.as_secs_f64()
            }
        };
        Report {
            scenario: self.scenario,
            scheduled,
            passed: self.passed,
            failed: self.failed,
            unreachable: self.unreachable,
            offered_rate: rate,
            // n starts span n - 1 intervals; a single start has no rate.
            start_rate: per_s(self.started.saturating_sub(1), self.last_start),
            throughput: per_s(self.passed + self.failed, self.last_end),
            elapsed_s: self.last_end.as_secs_f64(),
            case: summary(&self.case),
            start_delay: summary(&self.delay),
            steps: self
                .steps
                .iter()
                .map(|(step, action, h)| StepSummary {
                    step: step.clone(),
                    action: action.clone(),
                    latency: summary(h),
                })
                .collect(),
            failures: self.failures,
            seconds: self
                .seconds
                .into_iter()
                .map(|(mut s, h)| {
                    s.p50_ms = ms(h.value_at_quantile(0.5));
                    s.p99_ms = ms(h.value_at_quantile(0.99));
                    s.max_ms = ms(h.max());
                    s
                })
                .collect(),
        }
    }
}

impl Report {
    /// Whether every scheduled instance passed.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.passed == self.scheduled
    }

    /// The per-second figures as CSV, with a header line.
    pub fn csv(&self) -> String {
        let mut out = String::from("second,offered,started,passed,failed,p50_ms,p99_ms,max_ms\n");
        for s in &self.seconds {
            out.push_str(&format!(
                "{},{},{},{},{},{:.3},{:.3},{:.3}\n",
                s.second, s.offered, s.started, s.passed, s.failed, s.p50_ms, s.p99_ms, s.max_ms
            ));
        }
        out
    }

    /// The report as text: totals, then a latency table, then the failures.
    pub fn text(&self) -> String {
        let mut out = format!(
            "load {}: {} scheduled, {} passed, {} failed in {:.2} s; offered {}, started {:.1}/s, finished {:.1}/s\n",
            self.scenario,
            self.scheduled,
            self.passed,
            self.failed,
            self.elapsed_s,
            self.offered_rate
                .map_or_else(|| "closed loop".to_owned(), |r| format!("{r:.1}/s")),
            self.start_rate,
            self.throughput,
        );
        out.push_str(&format!(
            "{:<40} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            "latency (ms)", "count", "p50", "p90", "p99", "p99.9", "max"
        ));
        let mut row = |label: &str, s: &Summary| {
            out.push_str(&format!(
                "{:<40} {:>8} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}\n",
                label, s.count, s.p50_ms, s.p90_ms, s.p99_ms, s.p99_9_ms, s.max_ms
            ));
        };
        row("case, from scheduled start", &self.case);
        row("start delay", &self.start_delay);
        for s in &self.steps {
            let label: String = format!("step {} {}", s.step, s.action)
                .chars()
                .take(40)
                .collect();
            row(&label, &s.latency);
        }
        for (reason, n) in &self.failures {
            out.push_str(&format!("failed {n:>6}  {reason}\n"));
        }
        out
    }
}

impl Progress {
    /// One status line (no line end).
    pub fn line(&self) -> String {
        format!(
            "load {:.1} s: {}/{} started, {} passed, {} failed, p50 {:.3} ms, p99 {:.3} ms",
            self.elapsed.as_secs_f64(),
            self.started,
            self.planned,
            self.passed,
            self.failed,
            self.p50_ms,
            self.p99_ms
        )
    }
}

fn histogram() -> Histogram<u64> {
    // INVARIANT: 1 ≤ low, 2 × low ≤ high and 3 significant digits are valid bounds.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, MAX_DURATION.as_micros() as u64, 3).expect("valid bounds")
}

/// Records `d` in microseconds, clamped to the histogram's range.
fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(us.max(1));
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn summary(h: &Histogram<u64>) -> Summary {
    Summary {
        count: h.len(),
        mean_ms: h.mean() / 1000.0,
        p50_ms: ms(h.value_at_quantile(0.5)),
        p90_ms: ms(h.value_at_quantile(0.9)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        p99_9_ms: ms(h.value_at_quantile(0.999)),
        max_ms: ms(h.max()),
    }
}

/// A reason cut to 120 characters (they may quote whole frames).
fn short(reason: &str) -> String {
    if reason.chars().count() <= 120 {
        reason.to_owned()
    } else {
        let cut: String = reason.chars().take(119).collect();
        format!("{cut}…")
    }
}
