//! Runs client cases: per case a [`Host`] (listeners + driver), the ordinary runner over it,
//! then the driver killed and its stderr tail added to a failure.

use std::sync::Arc;

use crate::runner::{self, CaseResult, Failure, RunOptions, Verdict};
use crate::scenario::Scenario;
use crate::transport::Connector;
use crate::transport::tap::Tap;

use super::host::Host;

/// Runs one client case with `driver` (a shell command).
pub async fn run_case(s: &Scenario, opts: &RunOptions, driver: &str) -> CaseResult {
    let host = match Host::bind(s, driver).await {
        Ok(h) => h,
        Err(e) => {
            return CaseResult {
                id: s.id.clone(),
                title: s.title.clone(),
                verdict: Verdict::Fail,
                rules: s.rules.clone(),
                failure: Some(Failure {
                    reason: format!("cannot listen on 127.0.0.1: {e}"),
                    ..Failure::default()
                }),
                ..CaseResult::default()
            };
        }
    };
    let host = Arc::new(host);
    let mut result = if opts.capture {
        // Record every connection (the driver's included) for the JSON, HTML and pcap reports.
        let tap = Tap::new(Arc::clone(&host) as Arc<dyn Connector>);
        runner::run(s, opts, &tap).await
    } else {
        runner::run(s, opts, &*host).await
    };
    let stderr = host.finish().await;
    // A client that never connects is a failed case, not an unreachable target.
    result.unreachable = false;
    if let Some(f) = result.failure.as_mut()
        && !stderr.is_empty()
    {
        f.reason = format!(
            "{}\n  driver stderr (last {} lines):\n    {}",
            f.reason,
            stderr.len(),
            stderr.join("\n    ")
        );
    }
    result
}

/// Runs many client cases, `jobs` at a time (each has its own listeners and driver), calling
/// `progress` after each; results keep the input order.
pub async fn run_all(
    cases: Vec<Arc<Scenario>>,
    opts: &RunOptions,
    driver: &str,
    jobs: usize,
    mut progress: impl FnMut(&CaseResult, usize, usize),
) -> Vec<CaseResult> {
    // Not `runner::run_all`: every case needs a connector of its own (its listeners, its driver).
    let total = cases.len();
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in cases.into_iter().enumerate() {
        let (sem, opts, driver) = (Arc::clone(&sem), opts.clone(), driver.to_owned());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, run_case(&s, &opts, &driver).await)
        });
    }
    let mut out: Vec<Option<CaseResult>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined {
            done += 1;
            progress(&r, done, total);
            out[i] = Some(r);
        }
    }
    out.into_iter().flatten().collect()
}

/// The shell command of the built-in reference driver: `exe client-driver` (`exe` the imspec
/// executable), with a client mutant when given.
pub fn builtin_command(exe: &std::path::Path, mutant: Option<&str>) -> String {
    let exe = exe.display().to_string();
    let quoted = format!("'{}'", exe.replace('\'', r"'\''"));
    match mutant {
        Some(m) => format!("{quoted} client-driver --mutant {m}"),
        None => format!("{quoted} client-driver"),
    }
}
