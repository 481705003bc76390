//! The scenario model: what `scenario::load` produces from YAML and the runner consumes.
//!
//! Plain data, no YAML types: values that may hold `${…}` are kept as strings (a
//! [`Template`]) and resolved by the runner when the step runs. Every step carries the
//! [`Span`] of the YAML list item it came from, so failures point at `file:line`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::proto;

/// A loaded case.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Stable id: the path under `scenarios/` without `.yaml` (`fetion/001-startchat`).
    pub id: String,
    /// The file it came from.
    pub path: PathBuf,
    /// One line, shown in reports.
    pub title: String,
    /// Which protocol module drives it.
    pub protocol: Protocol,
    /// The rules this case checks.
    pub rules: Vec<Rule>,
    /// Capabilities the target must claim.
    pub requires: Vec<String>,
    /// Variables with default values (a profile may override them).
    pub params: Vec<(String, String)>,
    /// Named connections.
    pub actors: BTreeMap<String, ActorTarget>,
    /// Default per-step timeout in milliseconds (before `--timeout-scale`).
    pub timeout_ms: u64,
    /// The steps, fragments already spliced in.
    pub steps: Vec<Step>,
    /// Connection options of actors that give any (LeanCloud's WebSocket subprotocol).
    pub actor_options: BTreeMap<String, ActorOptions>,
}

pub use crate::proto::ActorOptions;

/// A protocol a case can name as its `protocol:`: a handle on its module in [`proto::ALL`]
/// (one whose [`scenario_protocol`](proto::Protocol::scenario_protocol) is true), so the
/// registry stays the one list of protocols. Compared, ordered, printed and serialised by
/// name.
#[derive(Clone, Copy)]
pub struct Protocol(&'static dyn proto::Protocol);

impl Protocol {
    /// Every scenario protocol, in the order of [`proto::ALL`].
    pub fn all() -> impl Iterator<Item = Self> {
        proto::ALL
            .iter()
            .copied()
            .filter(|m| m.scenario_protocol())
            .map(Self)
    }

    /// The scenario protocol `module` drives (`Protocol::of(&proto::msnp::Msnp)`).
    pub const fn of(module: &'static dyn proto::Protocol) -> Self {
        Self(module)
    }

    /// The protocol module that drives this protocol: everything the harness knows of a
    /// protocol beyond its name in a scenario comes from there.
    pub fn module(self) -> &'static dyn proto::Protocol {
        self.0
    }

    /// The name used in YAML and on the command line (the module's name).
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Parses the YAML name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().find(|p| p.name() == name)
    }
}

impl PartialEq for Protocol {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Protocol {}

impl std::hash::Hash for Protocol {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl PartialOrd for Protocol {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Protocol {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl std::fmt::Debug for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The id prefix (folder under `scenarios/`) of client cases.
pub const CLIENTS_DIR: &str = "clients/";

/// A rule checked by a case.
#[derive(
    Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Rule {
    /// Stable rule id (`sipc.response-echoes-i-q`).
    pub id: String,
    /// What the rule says (absent from JSON reports written before it was added).
    #[serde(default)]
    pub text: String,
    /// Where it comes from: a `docs/protocols/` section, a seed or an RFC
    /// ([`cite`](super::cite) states the grammar).
    pub source: String,
    /// How sure the sources are.
    pub evidence: Evidence,
    /// MUST or SHOULD.
    pub level: Level,
}

/// How well the sources support a rule.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// The seed or several independent sources agree.
    High,
    /// Inferred, disputed or from a single lossy source: failures are `non-strict`.
    Low,
    /// One good source, or clearly implied by what clients parse.
    Medium,
}

/// The strictness of a rule.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A failure fails the run.
    Must,
    /// A failure is reported as `non-strict`.
    Should,
}

impl Scenario {
    /// Whether this is a client case (`scenarios/clients/…`): imspec plays the server and a
    /// driver runs the client under test (`imspec client-test`, docs/driver-protocol.md).
    /// `imspec run` leaves these out.
    pub fn is_client_case(&self) -> bool {
        self.id.starts_with(CLIENTS_DIR)
    }

    /// Whether a failure of this case fails the run: some rule is MUST-level with at least
    /// medium evidence, or the case names no rule at all.
    pub fn is_strict(&self) -> bool {
        self.rules.is_empty()
            || self
                .rules
                .iter()
                .any(|r| r.level == Level::Must && r.evidence != Evidence::Low)
    }
}

/// Where an actor connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActorTarget {
    /// A target service by name (`fetion`, `fetion-chat`, `msnp`, `msnp-gateway`).
    Service(String),
    /// `host:port` resolved at run time (may hold `${…}`).
    Address(Template),
}

/// A string that may contain `${…}` expressions, resolved at run time.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Template(pub String);

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A position in a scenario or fragment file (1-based).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One step with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// What to do.
    pub kind: StepKind,
    /// Where it was written (for fragments: inside the fragment file).
    pub span: Span,
    /// Per-step timeout override in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Free text shown in failure reports.
    pub note: Option<String>,
    /// Where the step sits in its file's list and which includes brought it in.
    pub origin: Origin,
}

/// A step's place as its file shows it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Origin {
    /// 1-based position in its own list (a fragment's steps count from 1 in the fragment).
    pub number: usize,
    /// The includes that brought the step in, innermost first: the fragment file and the
    /// `include:` step's place.
    pub included: Vec<Include>,
}

/// One `include:` that brought a fragment's steps into a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Include {
    /// The fragment as named in reports (`fetion/login`).
    pub fragment: String,
    /// Where the `include:` step is written.
    pub at: Span,
}

/// The step kinds of the language (see `scenarios/README.md` §3.2).
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// From here to the end of the case, answer every matching push of an actor.
    Answer(Answer),
    /// Verify a set of variables.
    Assert(Vec<(String, Check)>),
    /// A protocol round trip on each actor proving earlier frames have arrived.
    Barrier(Vec<String>),
    /// Open the actor's connection.
    Connect(String),
    /// Close the actor's connection.
    Disconnect(String),
    /// One HTTP request on its own connection; the response is the reply to it.
    Http(HttpSend),
    /// Wait for one frame and check it.
    Expect(Expect),
    /// Wait for several frames in any order.
    ExpectAnyOrder(Vec<Expect>),
    /// The server closes the connection.
    ExpectClosed(String),
    /// Barrier on each actor, then their push queues must be empty.
    ExpectNoPush(Vec<String>),
    /// A loop with a bound.
    Repeat(Repeat),
    /// Send a frame.
    Send(Send),
    /// Assign variables.
    Set(Vec<(String, Template)>),
}

/// A `send:` step.
#[derive(Clone, Debug, PartialEq)]
pub struct Send {
    /// Which connection.
    pub actor: String,
    /// Name of the request (for `reply:`) and of the stored frame.
    pub name: Option<String>,
    /// What to send.
    pub frame: FrameSpec,
}

/// An `answer:` step: from here to the end of the case, every push on `when.actor` that passes
/// `when`'s checks is taken out of the push queue (no `expect` or `expect_no_push` sees it) and
/// answered with `frame`, the push stored under `when.name` while `frame` is built. The peer
/// *may* send such a frame, any number of times, or never.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The actor, the push's name (`as:`) and its checks (`match:`); always a push.
    pub when: Expect,
    /// The answer (`with:`), built as a `send:` step's frame.
    pub frame: FrameSpec,
}

/// An `http:` step: one HTTP request (hyper) over a new connection to the actor's service; the
/// response becomes a frame on the actor, paired as the reply to this request.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpSend {
    /// Which actor (an actor used only by `http:` steps).
    pub actor: String,
    /// Name of the request (for `reply:`).
    pub name: Option<String>,
    /// The method (default `POST`).
    pub method: Option<Template>,
    /// Path and query (`/gateway/gateway.dll?Action=open&Server=NS&IP=127.0.0.1`).
    pub target: Template,
    /// Headers in order.
    pub headers: Vec<(String, Template)>,
    /// The body, with the escapes of `raw:` (`\r`, `\n`, `\xNN`).
    pub body: Option<Template>,
}

/// A frame to send: structural (encoded by the protocol module) or raw bytes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FrameSpec {
    /// Raw bytes with escapes (`\r`, `\n`, `\t`, `\\`, `\xNN`) and `${…}`; excludes the rest.
    pub raw: Option<Template>,
    /// Fetion request method.
    pub method: Option<Template>,
    /// Fetion response status.
    pub status: Option<Template>,
    /// Fetion response reason phrase.
    pub reason: Option<Template>,
    /// Fetion request target / MSNP target.
    pub target: Option<Template>,
    /// Fetion protocol version.
    pub version: Option<Template>,
    /// MSNP verb.
    pub verb: Option<Template>,
    /// MSNP transaction id.
    pub trid: Option<Template>,
    /// MSNP payload length override.
    pub length: Option<Template>,
    /// Headers in order; repeated names allowed.
    pub headers: Vec<(String, Template)>,
    /// MSNP layered header blocks.
    pub blocks: Vec<Vec<(String, Template)>>,
    /// Body text.
    pub body: Option<Template>,
    /// Fetion: stored received frame whose `I`, `Q`, `F` this response copies.
    pub reply_to: Option<String>,
    /// LeanCloud: the command in the codec's readable form.
    pub command: Option<Tree>,
}

/// A structured value whose strings may hold `${…}` (a LeanCloud command as written).
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    /// `true` / `false`.
    Bool(bool),
    /// A sequence.
    List(Vec<Self>),
    /// A mapping, in written order.
    Map(Vec<(String, Self)>),
    /// `null` / `~`.
    Null,
    /// A number as written.
    Number(String),
    /// A string.
    Str(Template),
}

/// An `expect:` step (also the items of `expect_any_order`).
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// Which connection.
    pub actor: String,
    /// Where the frame comes from.
    pub source: ExpectSource,
    /// Store the received frame under this name.
    pub name: Option<String>,
    /// Field checks.
    pub checks: Vec<(String, Check)>,
    /// XML path checks on the body.
    pub xml: Vec<(String, Check)>,
    /// Captures into variables.
    pub captures: Vec<(Template, Capture)>,
    /// Where this expect was written (for items of `expect_any_order`).
    pub span: Span,
    /// The item's `note:` (items of `expect_any_order`; a step's note is on the [`Step`]).
    pub note: Option<String>,
}

/// Which frame an expect takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectSource {
    /// The reply to the actor's oldest request whose reply was not yet expected.
    NextReply,
    /// The first frame in the push queue that passes the checks.
    Push,
    /// The reply to the named request.
    Reply(String),
}

/// A check on a list of values (a field, an XML path, a variable). All given parts must hold.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Check {
    /// The first value equals this.
    pub equals: Option<Template>,
    /// The first value does not equal this.
    pub not_equals: Option<Template>,
    /// The first value equals this, ignoring ASCII case.
    pub iequals: Option<Template>,
    /// The first value matches this regex.
    pub regex: Option<Template>,
    /// The first value contains this.
    pub contains: Option<Template>,
    /// The first value is one of these.
    pub one_of: Option<Vec<Template>>,
    /// The field exists (`true`) or not (`false`); `absent: true` is `Some(false)`.
    pub present: Option<bool>,
    /// Numeric comparisons of the first value.
    pub numeric: Vec<(Compare, Template)>,
    /// Number of values.
    pub count: Option<Box<Self>>,
    /// No value repeats.
    pub distinct: Option<bool>,
    /// Values strictly ordered.
    pub order: Option<Order>,
    /// Every value passes.
    pub each: Option<Box<Self>>,
    /// At least one value passes.
    pub any: Option<Box<Self>>,
    /// The first value equals the UTF-8 byte length of this other field.
    pub utf8_len_of: Option<String>,
}

/// Numeric comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// `==`
    Eq,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `!=`
    Ne,
}

impl Compare {
    /// The YAML key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ge => "ge",
            Self::Gt => "gt",
            Self::Le => "le",
            Self::Lt => "lt",
            Self::Ne => "ne",
        }
    }

    /// Applies the operator.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Self::Eq => a == b,
            Self::Ge => a >= b,
            Self::Gt => a > b,
            Self::Le => a <= b,
            Self::Lt => a < b,
            Self::Ne => a != b,
        }
    }
}

/// Strict ordering of values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Each value is greater than the previous.
    Ascending,
    /// Each value is less than the previous.
    Descending,
}

/// Where a capture takes its value(s).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Capture {
    /// A frame field (`headers.A`, `body`).
    pub field: Option<String>,
    /// An XML path in the body.
    pub xml: Option<String>,
    /// Another variable.
    pub var: Option<String>,
    /// Keep group 1 (or the whole match) of this regex.
    pub regex: Option<Template>,
    /// Keep every value as a list.
    pub all: bool,
    /// Append to an existing list.
    pub append: bool,
    /// Wrap the value: `{}` is replaced by it.
    pub format: Option<Template>,
    /// Lower-case the value.
    pub lowercase: bool,
}

/// A `repeat:` loop.
#[derive(Clone, Debug, PartialEq)]
pub struct Repeat {
    /// Fixed number of iterations (`times:`).
    pub times: Option<Template>,
    /// Stop after the iteration in which this variable check holds.
    pub until: Option<(String, Check)>,
    /// Hard bound on iterations (with `until`); exceeding it fails the case.
    pub max: u64,
    /// The loop body.
    pub steps: Vec<Step>,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Must => "must",
            Self::Should => "should",
        })
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::High => "high",
            Self::Low => "low",
            Self::Medium => "medium",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_protocols_are_the_registrys_that_say_so() {
        let names: Vec<&str> = Protocol::all().map(Protocol::name).collect();
        assert_eq!(names, ["fetion", "msnp", "sip", "leancloud"]);
        for p in Protocol::all() {
            assert_eq!(Protocol::from_name(p.name()), Some(p));
            assert!(std::ptr::addr_eq(
                p.module(),
                proto::by_name(p.name()).unwrap()
            ));
        }
        // Spoken only by actors of other protocols' cases.
        assert_eq!(Protocol::from_name("msrp"), None);
        assert_eq!(Protocol::from_name("driver"), None);
        let sip = Protocol::of(&proto::sip::Sip);
        assert_eq!(format!("{sip:?}"), "sip");
        assert_eq!(serde_json::to_string(&sip).unwrap(), "\"sip\"");
        assert!(Protocol::of(&proto::fetion::Fetion) < sip);
    }
}
