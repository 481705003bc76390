//! A whole suite run as one library call, for a server's own `cargo test`: load scenarios,
//! select cases, run them against targets and get back the [`CaseResult`]s that `imspec run`
//! reports (the objects of its JSON report).
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> Result<(), imspec_harness::suite::Error> {
//! use imspec_harness::Suite;
//!
//! let results = Suite::from_dir("scenarios/fetion")?
//!     .target("fetion", addr)
//!     .skip("fetion/9*")
//!     .jobs(4)
//!     .run()
//!     .await?;
//! for r in &results {
//!     assert!(!r.verdict.fails_run(), "{}", imspec_harness::report::human::failure_text(r, false));
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A run goes in two stages. [`Suite`] collects what `imspec run` takes as arguments;
//! [`Suite::plan`] loads and selects the cases and checks every option without touching the
//! network, giving a [`Plan`]; [`Plan::run`] probes the targets and runs the cases.
//! [`Suite::run`] does both. `imspec run` and `imspec load` are built on the same two stages.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::runner::{self, CaseResult, Profile, RunOptions, profile::Scalar};
use crate::scenario::{self, Scenario, ScenarioError, fragment::Sources};
use crate::transport::gateway::{self, Gateway};
use crate::transport::{Connector, tap::Tap, tcp::Tcp};

/// Why a suite cannot run. `imspec run` exits 2 for all but [`Error::Unreachable`] (exit 3).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Scenario files that do not load, a path that does not exist, or a rule stated
    /// differently by two cases: one error per problem, each `file:line:column: message`.
    #[error("{}", lines(.0))]
    Scenarios(Vec<ScenarioError>),
    /// An `only`/`skip` pattern that is not a glob.
    #[error("bad glob `{pattern}`: {source}")]
    Glob {
        /// The pattern as given.
        pattern: String,
        /// What globset says is wrong with it.
        source: globset::Error,
    },
    /// `only`/`skip` patterns were given and no case is left.
    #[error("the only/skip patterns selected no case")]
    NothingSelected,
    /// A partition `k` of `n` with `k` outside `1..=n`.
    #[error("partition {k}/{n}: expected K/N with 1 <= K <= N")]
    Partition {
        /// The slice asked for (1-based).
        k: usize,
        /// The number of slices.
        n: usize,
    },
    /// A timeout scale that is not a positive finite number.
    #[error("timeout scale {0}: must be a positive number")]
    TimeoutScale(f64),
    /// A var names a param that no selected case has.
    #[error("var `{name}={value}`: no case to run has a param `{name}`")]
    UnknownParam {
        /// The param's name.
        name: String,
        /// The value given.
        value: String,
    },
    /// A target with an unknown service name, or an address that does not resolve.
    #[error("target {name}: {message}")]
    Target {
        /// The service name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A target refused or did not answer the probe connection made before the run.
    #[error("target {name} at {addr} cannot be reached: {why}")]
    Unreachable {
        /// The service name.
        name: String,
        /// Its address.
        addr: SocketAddr,
        /// The connection error, or `timed out`.
        why: String,
    },
}

fn lines(errors: &[ScenarioError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the cases come from.
#[derive(Clone, Debug)]
enum Cases {
    /// Scenario files found under the paths given (loaded by [`Suite::plan`]).
    Files(Vec<PathBuf>),
    /// Cases already loaded.
    Loaded(Vec<Scenario>),
}

/// What to run and how: the arguments of `imspec run` as a builder. Every setter has the
/// default of the flag it mirrors.
///
/// Planning selects cases without a connection; every MSNP case has a twin that runs it over
/// the HTTP gateway:
///
/// ```
/// use imspec_harness::Suite;
///
/// let plan = Suite::builtin()?.only("msnp/007-*").plan()?;
/// let ids: Vec<&str> = plan.cases().iter().map(|c| c.id.as_str()).collect();
/// assert_eq!(ids, ["msnp/007-png-answered", "msnp/007-png-answered@gateway"]);
///
/// let plan = Suite::builtin()?.only("msnp/007-*").skip("*@gateway").plan()?;
/// assert_eq!(plan.cases().len(), 1);
/// # Ok::<(), imspec_harness::suite::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Suite does nothing until it is planned or run"]
pub struct Suite {
    cases: Cases,
    fragments: Vec<PathBuf>,
    profile: Profile,
    targets: Vec<(String, String)>,
    only: Vec<String>,
    skip: Vec<String>,
    partition: Option<(usize, usize)>,
    jobs: usize,
    repeat: usize,
    timeout_scale: f64,
    chop: bool,
    vars: Vec<(String, String)>,
    capture: bool,
}

impl Suite {
    /// The cases in the scenario files under `dir` (every `*.yaml` but fragments), as
    /// `imspec run DIR`. Fails when `dir` does not exist.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        Self::from_paths([dir.into()])
    }

    /// The cases in these scenario files and directories, as `imspec run PATH…`. Fails when
    /// a path does not exist.
    pub fn from_paths(paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Result<Self, Error> {
        let paths: Vec<PathBuf> = paths.into_iter().map(Into::into).collect();
        let files = scenario::discover(&paths).map_err(|e| Error::Scenarios(vec![e]))?;
        Ok(Self::with(Cases::Files(files)))
    }

    /// The built-in scenarios (`./scenarios` when it exists, else the imspec checkout's), as
    /// `imspec run` without paths.
    pub fn builtin() -> Result<Self, Error> {
        Self::from_dir(scenario::fragment::builtin_dir())
    }

    /// These cases, already loaded (taken as they are: no rule catalog check).
    pub fn from_cases(cases: impl IntoIterator<Item = Scenario>) -> Self {
        Self::with(Cases::Loaded(cases.into_iter().collect()))
    }

    fn with(cases: Cases) -> Self {
        Self {
            cases,
            fragments: Vec::new(),
            profile: Profile::default(),
            targets: Vec::new(),
            only: Vec::new(),
            skip: Vec::new(),
            partition: None,
            jobs: 8,
            repeat: 1,
            timeout_scale: 1.0,
            chop: false,
            vars: Vec::new(),
            capture: false,
        }
    }

    /// The target profile (`--profile`): targets, accounts, capabilities, params, fragment
    /// replacements, baseline. Default: [`Profile::default`], the reference server's test
    /// accounts with every capability claimed.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// A target service (`--target NAME=HOST:PORT`), over the profile's. Names: `fetion`,
    /// `fetion-chat`, `msnp`, `msnp-gateway`, `sip`, `msrp`, `leancloud`. With any target, a
    /// case needing a service without one is skipped.
    pub fn target(mut self, name: impl Into<String>, addr: impl ToString) -> Self {
        self.targets.push((name.into(), addr.to_string()));
        self
    }

    /// Look for fragments in `dir` after a case's own `fragments/` folder, before the
    /// built-in ones (`--fragments`, repeatable).
    pub fn fragments(mut self, dir: impl Into<PathBuf>) -> Self {
        self.fragments.push(dir.into());
        self
    }

    /// Run only cases whose id matches this glob (`--only`, repeatable; an id is a glob that
    /// matches itself).
    pub fn only(mut self, glob: impl Into<String>) -> Self {
        self.only.push(glob.into());
        self
    }

    /// Leave out cases whose id matches this glob (`--skip`, repeatable).
    pub fn skip(mut self, glob: impl Into<String>) -> Self {
        self.skip.push(glob.into());
        self
    }

    /// Run only the `k`-th of `n` slices of the selected cases, 1-based (`--partition K/N`).
    pub fn partition(mut self, k: usize, n: usize) -> Self {
        self.partition = Some((k, n));
        self
    }

    /// Cases run concurrently (`--jobs`, default 8).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// Run every case `n` times; a case that both passed and failed is
    /// [`Verdict::Flaky`](runner::Verdict::Flaky) (`--repeat`, default 1).
    pub fn repeat(mut self, n: usize) -> Self {
        self.repeat = n;
        self
    }

    /// Multiply every step timeout (`--timeout-scale`, default 1.0: 5 s per step).
    pub fn timeout_scale(mut self, scale: f64) -> Self {
        self.timeout_scale = scale;
        self
    }

    /// Also run every case chopped, as a twin `<id>@chop` (`--chop`).
    pub fn chop(mut self, chop: bool) -> Self {
        self.chop = chop;
        self
    }

    /// Override a scenario param (`--var NAME=VALUE`, wins over the profile's params). A
    /// name that no selected case has is an error.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// Record every TCP connection's bytes into [`CaseResult::connections`] (what `--json`,
    /// `--pcap` and `--html` need; default off).
    pub fn capture(mut self, capture: bool) -> Self {
        self.capture = capture;
        self
    }

    /// Loads and selects the cases and checks every option, without touching the network:
    /// client cases are left out (counted in [`Plan::clients_left_out`]); every MSNP case
    /// gets its gateway twin `<id>@gateway`; then `--chop` twins, `only`/`skip`, the
    /// partition, vars and targets, in the order `imspec run` applies them.
    pub fn plan(self) -> Result<Plan, Error> {
        let mut profile = self.profile;
        for (name, addr) in &self.targets {
            profile
                .set_target(name, addr)
                .map_err(|message| Error::Target {
                    name: name.clone(),
                    message,
                })?;
        }
        let loaded = match self.cases {
            Cases::Loaded(cases) => cases,
            Cases::Files(files) => {
                let sources = Sources {
                    dirs: self.fragments,
                    overrides: profile.fragments.clone(),
                    ..Sources::default()
                };
                load_files(&files, &sources)?
            }
        };
        // Client cases (scenarios/clients/) need a driver: `imspec client-test` runs them.
        let (clients, cases): (Vec<Scenario>, Vec<Scenario>) =
            loaded.into_iter().partition(Scenario::is_client_case);
        // Every MSNP case runs over TCP and, as `<id>@gateway`, over the gateway.
        let mut cases = runner::with_twins(cases, true, true);
        if self.chop {
            cases = runner::with_chop_twins(cases);
        }
        let only = glob_set(&self.only)?;
        let skip = glob_set(&self.skip)?;
        cases.retain(|c| {
            only.as_ref().is_none_or(|g| g.is_match(&c.id))
                && !skip.as_ref().is_some_and(|g| g.is_match(&c.id))
        });
        if cases.is_empty() && (only.is_some() || skip.is_some()) {
            return Err(Error::NothingSelected);
        }
        if let Some((k, n)) = self.partition {
            if n == 0 || !(1..=n).contains(&k) {
                return Err(Error::Partition { k, n });
            }
            cases = cases
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % n == k - 1)
                .map(|(_, c)| c)
                .collect();
        }
        if !(self.timeout_scale > 0.0 && self.timeout_scale.is_finite()) {
            return Err(Error::TimeoutScale(self.timeout_scale));
        }
        for (name, value) in self.vars {
            if !cases
                .iter()
                .any(|c| c.params.iter().any(|(k, _)| *k == name))
            {
                return Err(Error::UnknownParam { name, value });
            }
            profile.params.insert(name, Scalar::Text(value));
        }
        let targets = resolve_targets(&profile)?;
        Ok(Plan {
            cases: cases.into_iter().map(Arc::new).collect(),
            clients_left_out: clients.len(),
            profile: Arc::new(profile),
            targets,
            every_service: false,
            jobs: self.jobs,
            repeat: self.repeat,
            timeout_scale: self.timeout_scale,
            capture: self.capture,
        })
    }

    /// Plans and runs the suite: [`Suite::plan`], then [`Plan::run`]. The results are in case
    /// order, one per case (`--repeat` runs merged into one).
    pub async fn run(self) -> Result<Vec<CaseResult>, Error> {
        self.plan()?.run().await
    }
}

/// Loads the cases under `paths` (files and directories) as [`Suite::plan`] does, fragments
/// also from `sources`: every scenario error, not only the first, and a rule listed by several
/// cases must be stated the same way in each (what `imspec list` loads).
pub fn load_cases(paths: &[PathBuf], sources: &Sources) -> Result<Vec<Scenario>, Error> {
    let files = scenario::discover(paths).map_err(|e| Error::Scenarios(vec![e]))?;
    load_files(&files, sources)
}

fn load_files(files: &[PathBuf], sources: &Sources) -> Result<Vec<Scenario>, Error> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match scenario::load_with(f, sources) {
            Ok(s) => cases.push(s),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Scenarios(errors));
    }
    scenario::rules::catalog(&cases).map_err(Error::Scenarios)?;
    Ok(cases)
}

/// The profile's targets, each resolved to its first address.
pub fn resolve_targets(profile: &Profile) -> Result<BTreeMap<String, SocketAddr>, Error> {
    let mut targets = BTreeMap::new();
    for (name, addr) in &profile.targets {
        let mut resolved = addr.to_socket_addrs().map_err(|e| Error::Target {
            name: name.clone(),
            message: format!("cannot resolve `{addr}`: {e}"),
        })?;
        let sa = resolved.next().ok_or_else(|| Error::Target {
            name: name.clone(),
            message: format!("no address for `{addr}`"),
        })?;
        targets.insert(name.clone(), sa);
    }
    Ok(targets)
}

fn glob_set(patterns: &[String]) -> Result<Option<globset::GlobSet>, Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        b.add(globset::Glob::new(p).map_err(|source| Error::Glob {
            pattern: p.clone(),
            source,
        })?);
    }
    b.build().map(Some).map_err(|source| Error::Glob {
        pattern: patterns.join(" "),
        source,
    })
}

/// A suite ready to run: the selected cases, the merged profile and the resolved targets.
#[derive(Clone, Debug)]
pub struct Plan {
    cases: Vec<Arc<Scenario>>,
    clients_left_out: usize,
    profile: Arc<Profile>,
    targets: BTreeMap<String, SocketAddr>,
    every_service: bool,
    jobs: usize,
    repeat: usize,
    timeout_scale: f64,
    capture: bool,
}

impl Plan {
    /// The cases to run, twins included, in run order.
    pub fn cases(&self) -> &[Arc<Scenario>] {
        &self.cases
    }

    /// How many client cases (`scenarios/clients/`) the paths held: they need a driver, and
    /// `imspec client-test` runs them.
    pub fn clients_left_out(&self) -> usize {
        self.clients_left_out
    }

    /// The targets by service name, resolved.
    pub fn targets(&self) -> &BTreeMap<String, SocketAddr> {
        &self.targets
    }

    /// Runs against one server that serves every service at these addresses (what `imspec
    /// run` does with its embedded reference server when no target is given): no probe
    /// connection, and no case is skipped for a missing service.
    pub fn serving_every_service(
        mut self,
        addrs: impl IntoIterator<Item = (String, SocketAddr)>,
    ) -> Self {
        self.targets.extend(addrs);
        self.every_service = true;
        self
    }

    /// The options each case runs with.
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            timeout_scale: self.timeout_scale,
            // `chop` twins run beside the plain cases; the originals stay whole.
            chop: false,
            profile: Arc::clone(&self.profile),
            services: (!self.every_service)
                .then(|| Arc::new(self.targets.keys().cloned().collect::<BTreeSet<_>>())),
            capture: self.capture,
        }
    }

    /// The connector to the targets — TCP through a [`Tap`] (which records connections only
    /// when the run captures them), MSNP over HTTP through the [`Gateway`] — after one probe
    /// connection to each target.
    pub async fn connector(&self) -> Result<Arc<dyn Connector>, Error> {
        if !self.every_service {
            for (name, addr) in &self.targets {
                let probe = tokio::time::timeout(
                    Duration::from_secs_f64(5.0 * self.timeout_scale),
                    tokio::net::TcpStream::connect(addr),
                )
                .await;
                let why = match probe {
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "timed out".to_owned(),
                };
                return Err(Error::Unreachable {
                    name: name.clone(),
                    addr: *addr,
                    why,
                });
            }
        }
        let options = gateway::Options {
            host: self
                .targets
                .get(gateway::SERVICE)
                .map_or_else(|| "localhost".into(), ToString::to_string),
            ..gateway::Options::default()
        };
        let tcp: Arc<dyn Connector> = Arc::new(Tap::new(Arc::new(Tcp::new(self.targets.clone()))));
        Ok(Arc::new(Gateway::new(tcp, options)))
    }

    /// Runs the cases: the results in case order, one per case.
    pub async fn run(&self) -> Result<Vec<CaseResult>, Error> {
        self.run_with(|_, _, _| {}).await
    }

    /// Runs the cases, calling `progress(result, done, total)` as each case run ends (with
    /// `repeat`, once per run: `total` counts runs).
    pub async fn run_with(
        &self,
        progress: impl FnMut(&CaseResult, usize, usize),
    ) -> Result<Vec<CaseResult>, Error> {
        let connector = self.connector().await?;
        Ok(runner::run_repeated(
            self.cases.clone(),
            &self.run_options(),
            connector,
            self.jobs,
            self.repeat,
            progress,
        )
        .await)
    }
}
