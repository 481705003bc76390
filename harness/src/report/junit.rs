//! The JUnit XML report (quick-junit): one suite per protocol, one test case per scenario.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::{CaseResult, Verdict};

/// Renders the report.
pub fn render(results: &[CaseResult]) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("imspec");
    let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
    for r in results {
        let suite_name = r.id.split('/').next().unwrap_or("imspec").to_owned();
        let status = match r.verdict {
            Verdict::Pass | Verdict::Xfail | Verdict::NonStrict => TestCaseStatus::success(),
            Verdict::Skip => {
                let mut s = TestCaseStatus::skipped();
                if let Some(f) = &r.failure {
                    s.set_message(f.reason.clone());
                }
                s
            }
            Verdict::Fail | Verdict::Flaky | Verdict::Xpass => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let runs = if r.runs.is_empty() {
                    String::new()
                } else {
                    format!(
                        "{} runs: {}; ",
                        r.verdict.name(),
                        super::human::runs_text(r)
                    )
                };
                match (&r.failure, r.verdict) {
                    (Some(f), _) => {
                        s.set_message(format!(
                            "{runs}{} at {}: {}",
                            f.action, f.location, f.reason
                        ));
                        s.set_description(super::human::failure_text(r, false));
                    }
                    (None, Verdict::Xpass) => {
                        s.set_message("passed but is listed in the baseline (remove it there)");
                    }
                    _ => {}
                }
                s.set_type(r.verdict.name());
                s
            }
        };
        let mut tc = TestCase::new(r.id.clone(), status);
        tc.set_classname(suite_name.clone());
        tc.set_time(Duration::from_millis(r.duration_ms));
        if matches!(r.verdict, Verdict::Xfail | Verdict::NonStrict) {
            tc.set_system_out(format!(
                "verdict {}: {}",
                r.verdict.name(),
                r.failure.as_ref().map(|f| f.reason.as_str()).unwrap_or("")
            ));
        }
        suites
            .entry(suite_name.clone())
            .or_insert_with(|| TestSuite::new(suite_name))
            .add_test_case(tc);
    }
    report.add_test_suites(suites.into_values());
    report.to_string()
}
