//! Reports: they consume [`crate::runner::CaseResult`] values only.
//!
//! * [`human`]: console progress, failure details with the differing part marked, summary;
//! * [`json`]: one object per case (`id`, `verdict`, `duration_ms`, failure fields, `wire`;
//!   `runs` with `--repeat`), read back by `imspec report`;
//! * [`junit`]: JUnit XML for CI systems;
//! * [`html`]: a static site with a sequence diagram per case;
//! * [`pcap`]: the recorded TCP connections as a pcapng file ([`pcapng`] writes the blocks).

pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod pcap;
pub mod pcapng;

use crate::runner::{CaseResult, Verdict};

/// Counts of each verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// `pass`.
    pub pass: usize,
    /// `fail`.
    pub fail: usize,
    /// `flaky`.
    pub flaky: usize,
    /// `non-strict`.
    pub non_strict: usize,
    /// `skip`.
    pub skip: usize,
    /// `xfail`.
    pub xfail: usize,
    /// `xpass`.
    pub xpass: usize,
}

impl Summary {
    /// Counts `results`.
    pub fn of(results: &[CaseResult]) -> Self {
        let mut s = Self::default();
        for r in results {
            match r.verdict {
                Verdict::Pass => s.pass += 1,
                Verdict::Fail => s.fail += 1,
                Verdict::Flaky => s.flaky += 1,
                Verdict::NonStrict => s.non_strict += 1,
                Verdict::Skip => s.skip += 1,
                Verdict::Xfail => s.xfail += 1,
                Verdict::Xpass => s.xpass += 1,
            }
        }
        s
    }
}
