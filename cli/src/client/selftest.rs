//! The client half of `imspec selftest`: every client case against the reference client
//! (must pass) and against each client [`Mutant`] (some case of its protocol must fail).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use imspec_harness::runner::{CaseResult, RunOptions, Verdict};
use imspec_harness::scenario::Scenario;

use super::mutant::Mutant;
use imspec_harness::client::run::{builtin_command, run_all};

/// Client cases × client mutants.
#[derive(Clone, Debug)]
pub struct Matrix {
    /// Results against the clean reference client.
    pub clean: Vec<CaseResult>,
    /// Per mutant, the cases that caught it.
    pub mutants: Vec<(Mutant, Vec<String>)>,
}

impl Matrix {
    /// Clean failures (skips aside).
    pub fn clean_failures(&self) -> Vec<&CaseResult> {
        self.clean
            .iter()
            .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Skip))
            .collect()
    }

    /// Whether the clean client passes and every mutant is caught.
    pub fn ok(&self) -> bool {
        self.clean_failures().is_empty() && self.mutants.iter().all(|(_, c)| !c.is_empty())
    }

    /// The report.
    pub fn render(&self) -> String {
        let mut out = crate::selftest::clean_run(
            "clean reference client",
            "client cases",
            &self.clean,
            &self.clean_failures(),
        );
        for (m, caught) in &self.mutants {
            if caught.is_empty() {
                let _ = writeln!(out, "client mutant {m}: SURVIVED");
            } else {
                let _ = writeln!(out, "client mutant {m}: caught by {}", caught.join(", "));
            }
        }
        out
    }
}

/// Runs `cases` (client cases) with the built-in driver of `exe`, clean and per mutant.
pub async fn selftest(
    cases: Vec<Arc<Scenario>>,
    exe: &Path,
    opts: &RunOptions,
    jobs: usize,
) -> Matrix {
    let clean = run_all(
        cases.clone(),
        opts,
        &builtin_command(exe, None),
        jobs,
        |_, _, _| {},
    )
    .await;
    let mut mutants = Vec::new();
    for &m in Mutant::ALL {
        let subset: Vec<Arc<Scenario>> = cases
            .iter()
            .filter(|s| s.protocol == m.protocol())
            .cloned()
            .collect();
        let results = run_all(
            subset,
            opts,
            &builtin_command(exe, Some(m.name())),
            jobs,
            |_, _, _| {},
        )
        .await;
        let caught = results
            .into_iter()
            .filter(|r| crate::selftest::caught(r.verdict))
            .map(|r| r.id)
            .collect();
        mutants.push((m, caught));
    }
    Matrix { clean, mutants }
}
