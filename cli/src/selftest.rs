//! `imspec selftest`: runs the scenario suite against the clean embedded reference server and
//! against the server started with each [`Mutant`], and prints which cases caught which mutant.
//!
//! A conformance suite that passes a broken server is worse than none (issue 4): the self-test
//! fails when the clean server fails any case, or when some mutant passes every case.
//!
//! A mutant breaks one protocol's rule, so only that protocol's cases run against it (a Fetion
//! mutant cannot be caught by an MSNP case); a gateway mutant runs against the cases that go
//! through the HTTP gateway (`gateway/…` and the `…@gateway` twins of the MSNP cases). Every mutant gets its own server (own ports, own
//! temporary store); all mutants run concurrently, their cases bounded by one semaphore, so the
//! whole matrix takes about as long as the slowest failing case.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imspec_harness::runner::{self, CaseResult, RunOptions, Verdict};
use imspec_harness::scenario::{self, Protocol, Scenario, ScenarioError};
use imspec_harness::transport::gateway::{self, Gateway};
use imspec_harness::transport::tcp::Tcp;
use imspec_server::{Mutant, Server, ServerConfig, Service};

/// How to run the self-test.
#[derive(Clone, Debug)]
pub struct Options {
    /// Scenario files or directories (the suite: normally `scenarios/`).
    pub paths: Vec<PathBuf>,
    /// Mutants to try; empty means every mutant.
    pub mutants: Vec<Mutant>,
    /// Cases running at once, over all servers.
    pub jobs: usize,
    /// Multiplies every step timeout (the servers are local, so steps answer in milliseconds;
    /// a mutant that stops answering costs one scaled step timeout).
    pub timeout_scale: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            paths: vec![PathBuf::from("scenarios")],
            mutants: Vec::new(),
            jobs: 64,
            timeout_scale: 0.4,
        }
    }
}

/// Why the self-test could not run at all (as opposed to finding a problem).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario does not load.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The suite is empty.
    #[error("no scenarios found under {0}")]
    NoCases(String),
    /// An embedded server could not start.
    #[error("starting the reference server{}: {source}", mutant.map(|m| format!(" with mutant {m}")).unwrap_or_default())]
    Server {
        /// The mutant it was started with.
        mutant: Option<Mutant>,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The outcome: the clean run and, per mutant, the verdict of every case run against it.
#[derive(Clone, Debug)]
pub struct Matrix {
    /// Case ids, in suite order.
    pub cases: Vec<String>,
    /// The protocol of each case (same order).
    pub protocols: Vec<Protocol>,
    /// Results against the clean server (same order).
    pub clean: Vec<CaseResult>,
    /// Per mutant: `None` for a case not run (other protocol), else its verdict.
    pub mutants: Vec<(Mutant, Vec<Option<Verdict>>)>,
    /// Wall time of the whole self-test.
    pub elapsed: Duration,
}

impl Matrix {
    /// Cases that did not pass against the clean server (skips aside).
    pub fn clean_failures(&self) -> Vec<&CaseResult> {
        self.clean
            .iter()
            .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Skip))
            .collect()
    }

    /// Ids of the cases that caught `row` (failed, strictly or not).
    pub fn catchers(&self, row: &[Option<Verdict>]) -> Vec<(&str, Verdict)> {
        self.cases
            .iter()
            .zip(row)
            .filter_map(|(id, v)| v.filter(|v| caught(*v)).map(|v| (id.as_str(), v)))
            .collect()
    }

    /// Mutants no case caught.
    pub fn survivors(&self) -> Vec<Mutant> {
        self.mutants
            .iter()
            .filter(|(_, row)| self.catchers(row).is_empty())
            .map(|(m, _)| *m)
            .collect()
    }

    /// Whether the suite passes the clean server and catches every mutant.
    pub fn ok(&self) -> bool {
        self.clean_failures().is_empty() && self.survivors().is_empty()
    }

    /// The report: the clean run, a mutant × case grid, and the catching cases per mutant.
    pub fn render(&self) -> String {
        let mut out = clean_run("clean server", "cases", &self.clean, &self.clean_failures());
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "columns (F failed, n non-strict, . passed, - not run):"
        );
        for (i, id) in self.cases.iter().enumerate() {
            let _ = writeln!(out, "  {:>3}  {id}", i + 1);
        }
        let width = self
            .mutants
            .iter()
            .map(|(m, _)| m.name().len())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = write!(out, "{:width$}  ", "mutant");
        for i in 0..self.cases.len() {
            let _ = write!(out, "{}", (i + 1) % 10);
        }
        let _ = writeln!(out, "  caught by");
        for (m, row) in &self.mutants {
            let _ = write!(out, "{:width$}  ", m.name());
            for v in row {
                out.push(match v {
                    None => '-',
                    Some(Verdict::Fail | Verdict::Flaky | Verdict::Xpass) => 'F',
                    Some(Verdict::NonStrict | Verdict::Xfail) => 'n',
                    Some(Verdict::Pass | Verdict::Skip) => '.',
                });
            }
            let catchers = self.catchers(row);
            let strict = catchers.iter().filter(|(_, v)| *v == Verdict::Fail).count();
            let summary = match (catchers.len(), strict) {
                (0, _) => "SURVIVED".to_owned(),
                (n, 0) => format!("{n} case(s), non-strict only"),
                (n, _) => format!("{n} case(s)"),
            };
            let _ = writeln!(out, "  {summary}");
        }
        let survivors = self.survivors();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} mutants, {} caught, {} survived; clean server {}; {:.1} s",
            self.mutants.len(),
            self.mutants.len() - survivors.len(),
            survivors.len(),
            if self.clean_failures().is_empty() {
                "passes"
            } else {
                "FAILS"
            },
            self.elapsed.as_secs_f64()
        );
        for m in survivors {
            let _ = writeln!(out, "  survived: {m} ({})", m.describe());
        }
        out
    }
}

/// Runs the suite against the clean server, then against every requested mutant.
pub async fn selftest(opts: &Options) -> Result<Matrix, Error> {
    let started = Instant::now();
    let files = scenario::discover(&opts.paths)?;
    let mut loaded: Vec<Scenario> = files
        .iter()
        .map(|f| scenario::load(f))
        .collect::<Result<_, _>>()?;
    // Client cases need a driver: `client::selftest` runs them against the reference clients.
    loaded.retain(|s| !s.is_client_case());
    // Every MSNP case also runs over the HTTP gateway (`<id>@gateway`).
    let cases: Vec<Arc<Scenario>> = imspec_harness::runner::with_twins(loaded, true, true)
        .into_iter()
        .map(Arc::new)
        .collect();
    if cases.is_empty() {
        let shown: Vec<String> = opts.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::NoCases(shown.join(", ")));
    }
    let run_opts = RunOptions {
        timeout_scale: opts.timeout_scale,
        ..RunOptions::default()
    };
    let jobs = opts.jobs.max(1);

    let clean = run_suite(None, cases.clone(), &run_opts, jobs).await?;

    let mutants: Vec<Mutant> = if opts.mutants.is_empty() {
        Mutant::ALL.to_vec()
    } else {
        opts.mutants.clone()
    };
    // One semaphore over every mutant's cases: `jobs` bounds the whole machine's load.
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut set = tokio::task::JoinSet::new();
    for (row, m) in mutants.iter().copied().enumerate() {
        let wanted = Protocol::from_name(m.protocol().name);
        // A gateway mutant can only be caught by a case that goes through the gateway.
        let subset: Vec<Arc<Scenario>> = cases
            .iter()
            .filter(|s| {
                Some(s.protocol) == wanted
                    && (!m.is_gateway() || imspec_harness::runner::is_gateway_case(s))
            })
            .cloned()
            .collect();
        let (run_opts, sem) = (run_opts.clone(), Arc::clone(&sem));
        set.spawn(async move {
            let results = run_suite_bounded(Some(m), subset, &run_opts, sem).await;
            (row, m, results)
        });
    }
    let mut rows: Vec<Option<(Mutant, Vec<Option<Verdict>>)>> = vec![None; mutants.len()];
    while let Some(joined) = set.join_next().await {
        let Ok((row, m, results)) = joined else {
            continue;
        };
        let by_id: BTreeMap<String, Verdict> =
            results?.into_iter().map(|r| (r.id, r.verdict)).collect();
        let verdicts = cases.iter().map(|s| by_id.get(&s.id).copied()).collect();
        if let Some(slot) = rows.get_mut(row) {
            *slot = Some((m, verdicts));
        }
    }
    Ok(Matrix {
        cases: cases.iter().map(|s| s.id.clone()).collect(),
        protocols: cases.iter().map(|s| s.protocol).collect(),
        clean,
        // A task that panicked leaves its row empty: report it as not run, hence survived.
        mutants: rows
            .into_iter()
            .zip(&mutants)
            .map(|(r, m)| r.unwrap_or_else(|| (*m, vec![None; cases.len()])))
            .collect(),
        elapsed: started.elapsed(),
    })
}

/// Starts a server (clean or with `mutant`), runs `cases` against it, `jobs` at a time.
async fn run_suite(
    mutant: Option<Mutant>,
    cases: Vec<Arc<Scenario>>,
    opts: &RunOptions,
    jobs: usize,
) -> Result<Vec<CaseResult>, Error> {
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs));
    run_suite_bounded(mutant, cases, opts, sem).await
}

async fn run_suite_bounded(
    mutant: Option<Mutant>,
    cases: Vec<Arc<Scenario>>,
    opts: &RunOptions,
    sem: Arc<tokio::sync::Semaphore>,
) -> Result<Vec<CaseResult>, Error> {
    let server = Server::start(ServerConfig {
        mutant,
        ..ServerConfig::local()
    })
    .await
    .map_err(|source| Error::Server { mutant, source })?;
    let targets: BTreeMap<String, std::net::SocketAddr> = server
        .addrs()
        .into_iter()
        .map(|(s, a)| (s.name().to_owned(), a))
        .collect();
    let options = gateway::Options {
        host: server
            .addr(Service::MsnpGateway)
            .map_or_else(|| "localhost".into(), |a| a.to_string()),
        ..gateway::Options::default()
    };
    let connector: Arc<dyn imspec_harness::transport::Connector> =
        Arc::new(Gateway::new(Arc::new(Tcp::new(targets)), options));
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in cases.into_iter().enumerate() {
        let (sem, opts, connector) = (Arc::clone(&sem), opts.clone(), Arc::clone(&connector));
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, runner::run(&s, &opts, connector.as_ref()).await)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(r) = joined {
            results.push(r);
        }
    }
    server.shutdown().await;
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}

/// Whether a verdict against a mutant counts as catching it.
/// The first lines of a self-test report: `<what>: N <cases>, M passed` and one line per
/// failure (shared with the client half, `client::selftest`).
pub fn clean_run(
    what: &str,
    cases: &str,
    clean: &[CaseResult],
    failures: &[&CaseResult],
) -> String {
    let mut out = String::new();
    let passed = clean.iter().filter(|r| r.verdict == Verdict::Pass).count();
    let _ = writeln!(out, "{what}: {} {cases}, {passed} passed", clean.len());
    for r in failures {
        let why = r
            .failure
            .as_ref()
            .map(|f| format!("{} at {}: {}", f.action, f.location, f.reason));
        let _ = writeln!(
            out,
            "  {} {}: {}",
            r.verdict.name().to_uppercase(),
            r.id,
            why.unwrap_or_default()
        );
    }
    out
}

/// Whether a verdict means the case caught a mutant.
pub fn caught(v: Verdict) -> bool {
    matches!(
        v,
        Verdict::Fail | Verdict::NonStrict | Verdict::Xfail | Verdict::Xpass
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    const FETION: Protocol = Protocol::of(&imspec_harness::proto::fetion::Fetion);
    use imspec_harness::runner::Failure;

    fn result(id: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: String::new(),
            verdict,
            duration_ms: 0,
            rules: Vec::new(),
            failure: (verdict != Verdict::Pass).then(Failure::default),
            ..CaseResult::default()
        }
    }

    fn matrix(clean: &[Verdict], rows: &[(Mutant, Vec<Option<Verdict>>)]) -> Matrix {
        let cases: Vec<String> = (0..clean.len()).map(|i| format!("fetion/{i:03}")).collect();
        Matrix {
            protocols: vec![FETION; cases.len()],
            clean: cases
                .iter()
                .zip(clean)
                .map(|(id, v)| result(id, *v))
                .collect(),
            cases,
            mutants: rows.to_vec(),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn selftest_matrix_flags_survivors_and_clean_failures() {
        use Verdict::*;
        let m = matrix(
            &[Pass, Pass],
            &[
                (Mutant::FetionNoEchoI, vec![Some(Fail), Some(Pass)]),
                (Mutant::FetionNoEchoQ, vec![Some(Pass), Some(NonStrict)]),
            ],
        );
        assert!(m.ok());
        assert_eq!(m.catchers(&m.mutants[0].1), vec![("fetion/000", Fail)]);
        let text = m.render();
        assert!(
            text.contains("fetion-no-echo-i") && text.contains("F."),
            "{text}"
        );
        assert!(text.contains("non-strict only"), "{text}");

        let m = matrix(
            &[Pass, Pass],
            &[(Mutant::FetionNoEchoI, vec![Some(Pass), None])],
        );
        assert_eq!(m.survivors(), vec![Mutant::FetionNoEchoI]);
        assert!(!m.ok() && m.render().contains("SURVIVED"));

        let m = matrix(
            &[Pass, NonStrict],
            &[(Mutant::FetionNoEchoI, vec![Some(Fail), Some(Fail)])],
        );
        assert_eq!(m.clean_failures().len(), 1);
        assert!(!m.ok() && m.render().contains("FAILS"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn selftest_suite_passes_clean_and_catches_every_mutant() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let opts = Options {
            paths: vec![root],
            ..Options::default()
        };
        let m = selftest(&opts).await.unwrap();
        assert!(m.ok(), "{}", m.render());
    }
}
