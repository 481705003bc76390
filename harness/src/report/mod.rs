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

use std::fmt;

use crate::runner::{CHOP_SUFFIX, CaseResult, Verdict};
use crate::transport::gateway;

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

/// The verdicts of cases that ran twice: plainly and as a twin (`<id>@gateway` over the HTTP
/// gateway, `<id>@chop` with chopped writes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parity {
    /// (case id, verdict of the plain run, verdict of the twin), in result order.
    pub pairs: Vec<(String, Verdict, Verdict)>,
    /// How the summary line names the pair (`transport parity`, `MSNP cases over tcp and the
    /// HTTP gateway`, `tcp`, `gateway`).
    names: [&'static str; 4],
}

impl Parity {
    /// MSNP cases over TCP and over the HTTP gateway.
    pub fn gateway(results: &[CaseResult]) -> Self {
        Self::of(
            results,
            gateway::SUFFIX,
            [
                "transport parity",
                "MSNP cases over tcp and the HTTP gateway",
                "tcp",
                "gateway",
            ],
        )
    }

    /// Cases run plainly and chopped (`--chop`).
    pub fn chop(results: &[CaseResult]) -> Self {
        Self::of(
            results,
            CHOP_SUFFIX,
            ["chop parity", "cases plain and chopped", "plain", "chopped"],
        )
    }

    /// Pairs each `…SUFFIX` result with the result of the same case without it.
    fn of(results: &[CaseResult], suffix: &str, names: [&'static str; 4]) -> Self {
        let pairs = results
            .iter()
            .filter_map(|twin| {
                let base = twin.id.strip_suffix(suffix)?;
                let plain = results.iter().find(|t| t.id == base)?;
                // A skipped side (no target for one transport) has nothing to compare.
                (plain.verdict != Verdict::Skip && twin.verdict != Verdict::Skip)
                    .then(|| (base.to_owned(), plain.verdict, twin.verdict))
            })
            .collect();
        Self { pairs, names }
    }

    /// The pairs whose verdicts differ.
    pub fn differing(&self) -> impl Iterator<Item = &(String, Verdict, Verdict)> {
        self.pairs.iter().filter(|(_, a, b)| a != b)
    }
}

impl fmt::Display for Parity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [title, cases, plain, twin] = self.names;
        let differ = self.differing().count();
        write!(
            f,
            "{title}: {} {cases}, {} with the same verdict, {differ} differ",
            self.pairs.len(),
            self.pairs.len() - differ
        )?;
        for (id, a, b) in self.differing() {
            write!(f, "\n  {id}: {plain} {}, {twin} {}", a.name(), b.name())?;
        }
        Ok(())
    }
}
