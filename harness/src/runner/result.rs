//! What a run produces: plain data that the reports consume (hurl's `AssertResult` idea).
//!
//! A [`CaseResult`] serialises to exactly the object of the JSON report (`--json`) and
//! deserialises from it, so the HTML and pcap writers and `imspec report merge` work from an old
//! run's JSON as from a fresh run.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::proto::Protocol;
use crate::scenario::Rule;
pub use crate::transport::tap::{Chunk, Connection, Way};

/// The verdict of one case.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A rule was violated.
    Fail,
    /// Run several times (`imspec run --repeat N`): some runs passed, some failed the run
    /// (fails the run).
    Flaky,
    /// Failed, but only should-level or low-evidence rules: does not fail the run.
    NonStrict,
    /// Passed.
    #[default]
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
            Self::Flaky => "flaky",
            Self::NonStrict => "non-strict",
            Self::Pass => "pass",
            Self::Skip => "skip",
            Self::Xfail => "xfail",
            Self::Xpass => "xpass",
        }
    }

    /// Whether this verdict fails the run.
    pub fn fails_run(self) -> bool {
        matches!(self, Self::Fail | Self::Flaky | Self::Xpass)
    }
}

/// One case's result.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Why it did not pass (also set for xfail and non-strict); why it was skipped. Its fields
    /// sit at the top level of the JSON object.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Whether a connection to a target service could not be opened.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
    /// When the case started: microseconds since the Unix epoch (the wire log's `t_ms` count
    /// from here).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub started_us: u64,
    /// The protocol each actor spoke (`fetion`, `msnp`, `sip`, `msrp`, `leancloud`, `http`):
    /// how its frames' `raw` bytes decode.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actors: BTreeMap<String, String>,
    /// Frames both ways, with timestamps (kept for every verdict; reports show it for failures).
    pub wire: Vec<WireEntry>,
    /// With `--repeat N` (N > 1): how many runs ended in each verdict; empty otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runs: BTreeMap<Verdict, usize>,
    /// Every TCP connection of the case with the bytes both ways, as read and written (kept
    /// when the run records them, `RunOptions::capture`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<Connection>,
}

impl CaseResult {
    /// One result for several runs of a case: the first run that failed the run (so that
    /// its failure, wire log and time are reported), else the first run; its verdict becomes
    /// [`Verdict::Flaky`] if other runs did not fail the run. `runs` counts every run's
    /// verdict when there was more than one. `None` for no runs.
    pub fn merge(runs: Vec<Self>) -> Option<Self> {
        let many = runs.len() > 1;
        let mut counts = BTreeMap::new();
        for r in &runs {
            *counts.entry(r.verdict).or_insert(0) += 1;
        }
        let failing = runs.iter().filter(|r| r.verdict.fails_run()).count();
        let mixed = failing > 0 && failing < runs.len();
        let mut it = runs.into_iter();
        let first = it.next()?;
        let mut out = if first.verdict.fails_run() {
            first
        } else {
            it.find(|r| r.verdict.fails_run()).unwrap_or(first)
        };
        if mixed {
            out.verdict = Verdict::Flaky;
        }
        if many {
            out.runs = counts;
        }
        Some(out)
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where and why a case failed.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where in the wire log the failing step waited: the actor it waited on and the entries
    /// logged while it ran (`wire[from..to]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited: Option<Waited>,
}

/// Where the failing step waited.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Waited {
    /// The actor whose connection the step read or wrote (none for `set`, `assert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Index of the first wire entry logged while the step ran.
    pub from: usize,
    /// Index one past the last entry logged before it failed.
    pub to: usize,
    /// The entry of the received frame that failed the step's checks, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<usize>,
}

/// Direction of a wire log entry: a frame travelled one [`Way`] of the wire, or the entry is
/// a connection event. Serialised as `send`, `recv` or `event`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A connection event (connect, close, error).
    #[default]
    Event,
    /// A frame, sent or received.
    #[serde(untagged)]
    Wire(Way),
}

impl Direction {
    /// From the runner to the target.
    pub const SEND: Self = Self::Wire(Way::Send);
    /// From the target.
    pub const RECV: Self = Self::Wire(Way::Recv);
}

impl From<Way> for Direction {
    fn from(way: Way) -> Self {
        Self::Wire(way)
    }
}

/// One frame (or event) on the wire.
#[derive(
    Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct WireEntry {
    /// Milliseconds since the case started.
    pub t_ms: f64,
    /// Which actor's connection.
    #[schemars(with = "String")]
    pub actor: Arc<str>,
    /// Which way.
    pub dir: Direction,
    /// The bytes, escaped (`\r\n`, `\xNN`) or in the protocol's readable form, or the event
    /// text.
    #[schemars(with = "String")]
    pub text: WireText,
    /// Events only: `connect`, `disconnect` (by the scenario), `close` (by the server or an
    /// error), `barrier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Where the actor's connection goes: the service name or the address dialled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub peer: Option<Arc<str>>,
    /// The TCP connection ([`CaseResult::connections`]) this frame travelled in, when it is one
    /// (not over the HTTP gateway, whose requests are connections of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn: Option<u32>,
    /// The frame's exact bytes as the protocol module parses them, base64 (frames only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::transport::tap::b64_opt"
    )]
    #[schemars(with = "Option<String>")]
    pub raw: Option<Arc<[u8]>>,
}

/// Most characters of one frame kept in the wire log.
pub const MAX_WIRE_TEXT: usize = 8 * 1024;

/// `text` cut to [`MAX_WIRE_TEXT`] bytes, saying how long it was.
pub(crate) fn cap_text(mut text: String) -> String {
    if text.len() > MAX_WIRE_TEXT {
        let mut cut = MAX_WIRE_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let total = text.len();
        text.truncate(cut);
        text.push_str(&format!("… ({total} bytes)"));
    }
    text
}

/// A wire entry's text: given, or made from the frame's bytes by its protocol module the first
/// time it is read. A run logs every frame; most cases pass and most reports never show
/// their frames, so escaping or decoding them as they pass would be wasted on the runner's
/// every round trip.
#[derive(Clone, Default)]
pub struct WireText {
    text: OnceLock<String>,
    of: Option<(&'static dyn Protocol, Arc<[u8]>)>,
}

impl WireText {
    /// The text `proto` makes of `bytes` ([`Protocol::log_text`]), cut to
    /// [`MAX_WIRE_TEXT`] bytes, when first read.
    pub fn of(proto: &'static dyn Protocol, bytes: Arc<[u8]>) -> Self {
        Self {
            text: OnceLock::new(),
            of: Some((proto, bytes)),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.text.get_or_init(|| match &self.of {
            Some((proto, bytes)) => cap_text(proto.log_text(bytes)),
            None => String::new(),
        })
    }
}

impl std::ops::Deref for WireText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for WireText {
    fn from(text: String) -> Self {
        Self {
            text: OnceLock::from(text),
            of: None,
        }
    }
}

impl From<&str> for WireText {
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

impl PartialEq for WireText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<str> for WireText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for WireText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Debug for WireText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for WireText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for WireText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for WireText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(Self::from)
    }
}

/// How long one step took, as [`super::run_timed`] records it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepTime {
    /// The step's 1-based index path (`4`; `3.2` inside a repeat, every iteration alike).
    pub step: String,
    /// What the step does (`expect alice`).
    pub action: String,
    /// From the step's start to its end (a send's flush, an expect's last match).
    pub elapsed: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_serialise_as_before() {
        for (dir, text) in [
            (Direction::SEND, "\"send\""),
            (Direction::RECV, "\"recv\""),
            (Direction::Event, "\"event\""),
        ] {
            assert_eq!(serde_json::to_string(&dir).unwrap(), text);
            assert_eq!(serde_json::from_str::<Direction>(text).unwrap(), dir);
        }
        assert!(serde_json::from_str::<Direction>("\"sideways\"").is_err());
        assert_eq!(Direction::from(Way::Recv), Direction::RECV);
    }

    #[test]
    fn wire_text_renders_through_its_protocol_when_read_and_serialises_as_text() {
        // Why: frames' texts are rendered only when a report reads them; what it reads must
        // be what the protocol module's log_text gives, cut to MAX_WIRE_TEXT.
        let msnp = crate::proto::by_name("msnp").unwrap();
        let t = WireText::of(msnp, Arc::from(&b"PNG 1 CON 0\r\n"[..]));
        assert_eq!(t, "PNG 1 CON 0\\r\\n");
        assert_eq!(t.as_str(), msnp.log_text(b"PNG 1 CON 0\r\n"));
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""PNG 1 CON 0\\r\\n""#);
        let back: WireText = serde_json::from_str(r#""PNG 1 CON 0\\r\\n""#).unwrap();
        assert_eq!(back, t);
        let long = WireText::of(msnp, Arc::from(vec![b'a'; MAX_WIRE_TEXT + 10]));
        assert!(long.len() < MAX_WIRE_TEXT + 30, "{}", long.len());
        assert!(long.ends_with(&format!("({} bytes)", MAX_WIRE_TEXT + 10)));
        assert_eq!(WireText::from("event"), "event");
        assert_eq!(WireText::default(), "");
    }
}
