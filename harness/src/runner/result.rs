//! What a run produces: plain data that the reports consume (hurl's `AssertResult` idea).

use crate::scenario::Rule;

/// The verdict of one case.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A rule was violated.
    Fail,
    /// Failed, but only should-level or low-evidence rules: does not fail the run.
    NonStrict,
    /// Passed.
    Pass,
    /// Not run: the target does not claim a capability the case requires.
    Skip,
    /// Failed, as the profile's baseline expects.
    Xfail,
    /// In the baseline but passed: the baseline is stale (fails the run).
    Xpass,
}

impl Verdict {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::NonStrict => "non-strict",
            Self::Pass => "pass",
            Self::Skip => "skip",
            Self::Xfail => "xfail",
            Self::Xpass => "xpass",
        }
    }

    /// Whether this verdict fails the run.
    pub fn fails_run(self) -> bool {
        matches!(self, Self::Fail | Self::Xpass)
    }
}

/// One case's result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Case title.
    pub title: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The rules the case checks.
    #[serde(skip)]
    pub rules: Vec<Rule>,
    /// Why it did not pass (also set for xfail and non-strict); why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Whether a connection to a target service could not be opened.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
    /// Frames both ways, with timestamps (kept for every verdict; reports show it for failures).
    pub wire: Vec<WireEntry>,
}

/// Where and why a case failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The step: its 1-based index path (`7`, `7.2` inside a repeat) and iteration.
    pub step: String,
    /// `file:line:column` of the step.
    pub location: String,
    /// What the step does (`expect alice`).
    pub action: String,
    /// What went wrong.
    pub reason: String,
    /// What the scenario expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What arrived instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The step's `note:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Direction of a wire log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the runner to the target.
    Send,
    /// From the target.
    Recv,
    /// A connection event (connect, close, error).
    Event,
}

/// One frame (or event) on the wire.
#[derive(Clone, Debug, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct WireEntry {
    /// Milliseconds since the case started.
    pub t_ms: f64,
    /// Which actor's connection.
    pub actor: String,
    /// Which way.
    pub dir: Direction,
    /// The bytes, escaped (`\r\n`, `\xNN`), or the event text.
    pub text: String,
}
