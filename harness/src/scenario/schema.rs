//! The scenario file format as Rust types, for the JSON Schemas under `docs/schema/`
//! (`scenario.json` for cases, `fragment.json` for fragments) that editors use for completion
//! and typo marks (`# yaml-language-server: $schema=…`).
//!
//! The loader reads YAML itself (to point errors at lines); these types describe what it
//! accepts. The names they allow come from the registry (protocols and services from
//! `proto::ALL`), and a unit test holds every key list here to the loader's own (step kinds,
//! each step's keys, check, capture, `expect` and `repeat` keys), so the two cannot drift. A test
//! validates every scenario and fragment against the generated schemas and fails when a
//! committed schema differs from what these types generate.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::JsonSchema;

use super::Protocol;
use crate::proto;

/// The JSON Schema of case files, pretty-printed.
pub fn case_schema() -> String {
    render(schemars::schema_for!(CaseFile))
}

/// The JSON Schema of fragment files, pretty-printed.
pub fn fragment_schema() -> String {
    render(schemars::schema_for!(FragmentFile))
}

fn render(schema: schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// An imspec scenario: one case (scenarios/README.md).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, title = "imspec scenario")]
pub struct CaseFile {
    /// One line, shown in reports.
    pub title: String,
    /// Which protocol module drives the case.
    pub protocol: ProtocolName,
    /// The rules this case checks.
    pub rules: Option<Vec<RuleDoc>>,
    /// Capabilities the target must claim (else the case is skipped).
    pub requires: Option<Vec<String>>,
    /// Variables with default values; a profile or `--var NAME=VALUE` overrides them.
    pub params: Option<BTreeMap<String, Scalar>>,
    /// Named connections: a service name, `{ address: HOST:PORT }` or service options.
    pub actors: Option<BTreeMap<String, ActorDoc>>,
    /// Default per-step timeout in milliseconds (before `--timeout-scale`; default 5000).
    pub timeout_ms: Option<u64>,
    /// What the case does, in order.
    pub steps: Vec<StepDoc>,
}

/// An imspec fragment: steps that cases splice in with `include:`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, title = "imspec scenario fragment")]
pub struct FragmentFile {
    /// Parameters with default values; `include: … with:` overrides them. `${name}` in the
    /// steps is replaced when the fragment is included.
    pub params: Option<BTreeMap<String, Scalar>>,
    /// What the fragment guarantees to the steps after its `include:` (a profile's
    /// replacement must provide at least the same).
    pub provides: Option<ProvidesDoc>,
    /// The steps spliced in.
    pub steps: Vec<StepDoc>,
}

/// A fragment's contract (`scenario::fragment`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProvidesDoc {
    /// What holds after it ran (free text, compared as written, `${param}` filled in).
    pub states: Option<Vec<String>>,
    /// Variables it captures or sets, which later steps may use.
    pub vars: Option<Vec<String>>,
}

/// The protocols a case can name: the registry's scenario protocols (`proto::ALL`).
pub struct ProtocolName;

impl JsonSchema for ProtocolName {
    fn schema_name() -> Cow<'static, str> {
        "ProtocolName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        names(
            "The protocols imspec drives.",
            Protocol::all().map(|p| (p.name(), p.module().about())),
        )
    }
}

/// The services an actor can name: every registered module's services (`proto::ALL`).
pub struct ServiceName;

impl JsonSchema for ServiceName {
    fn schema_name() -> Cow<'static, str> {
        "ServiceName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        names(
            "The target services an actor can name.",
            proto::ALL
                .iter()
                .flat_map(|m| m.services().iter().map(move |s| (*s, m.about_service(s)))),
        )
    }
}

/// A string schema that is one of `values`, each with its description.
fn names<'a>(
    description: &str,
    values: impl Iterator<Item = (&'a str, &'a str)>,
) -> schemars::Schema {
    let one_of: Vec<serde_json::Value> = values
        .map(|(name, about)| {
            serde_json::json!({ "description": about, "type": "string", "const": name })
        })
        .collect();
    schemars::json_schema!({ "description": description, "oneOf": one_of })
}

/// A rule checked by a case.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RuleDoc {
    /// Stable rule id (`sipc.response-echoes-i-q`).
    pub id: String,
    /// What the rule says.
    pub text: String,
    /// Where it comes from: a seed, a PROTOCOLS.md section, an RFC section.
    pub source: String,
    /// How sure the sources are: `low` makes failures non-strict.
    pub evidence: EvidenceDoc,
    /// `must` (default) or `should` (failures are non-strict).
    pub level: Option<LevelDoc>,
}

/// How well the sources support a rule.
#[derive(JsonSchema)]
#[schemars(rename_all = "lowercase")]
pub enum EvidenceDoc {
    /// The seed or several independent sources agree.
    High,
    /// Inferred, disputed or from one lossy source.
    Low,
    /// One good source.
    Medium,
}

/// The strictness of a rule.
#[derive(JsonSchema)]
#[schemars(rename_all = "lowercase")]
pub enum LevelDoc {
    /// A failure fails the run.
    Must,
    /// A failure is reported as non-strict.
    Should,
}

/// A YAML scalar: text, a number or a boolean (all read as text; `${…}` allowed in text).
#[derive(JsonSchema)]
#[schemars(untagged)]
pub enum Scalar {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
}

/// Where an actor connects.
#[derive(JsonSchema)]
#[schemars(untagged)]
pub enum ActorDoc {
    /// A target service by name.
    Service(ServiceName),
    /// An address resolved at run time (`${chat_addr}`), or an MSRP URI.
    Address {
        /// `HOST:PORT`, may hold `${…}`.
        address: String,
    },
    /// A service with connection options (LeanCloud's WebSocket subprotocol).
    Options(ActorOptionsDoc),
}

/// Connection options of an actor.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ActorOptionsDoc {
    /// The service (`leancloud`).
    pub service: ServiceName,
    /// LeanCloud framing: `protobuf2` (binary frames, the default) or `proto2base64`.
    pub format: Option<String>,
    /// LeanCloud subprotocol version: 3 (the default) or 1.
    pub version: Option<Scalar>,
}

/// One step: a map with exactly one step key, plus `note:` and `timeout_ms:`.
// Only the schema is ever built from these types, never a value: size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(JsonSchema)]
#[schemars(untagged)]
pub enum StepDoc {
    /// `answer:` from here on, answers every matching frame the peer may send.
    Answer(AnswerStep),
    /// `assert:` checks variables.
    Assert(AssertStep),
    /// `barrier:` proves earlier frames have arrived (a protocol round trip per actor).
    Barrier(BarrierStep),
    /// `connect:` opens the actor's connection.
    Connect(ConnectStep),
    /// `disconnect:` closes the actor's connection.
    Disconnect(DisconnectStep),
    /// `expect:` waits for one frame and checks it.
    Expect(ExpectStep),
    /// `expect_any_order:` waits for several frames in any order.
    ExpectAnyOrder(ExpectAnyOrderStep),
    /// `expect_closed:` the server closes the actor's connection.
    ExpectClosed(ExpectClosedStep),
    /// `expect_no_push:` barrier, then nothing may be queued.
    ExpectNoPush(ExpectNoPushStep),
    /// `http:` one HTTP request on its own connection.
    Http(HttpStep),
    /// `include:` splices in a fragment's steps.
    Include(IncludeStep),
    /// `repeat:` a bounded loop.
    Repeat(RepeatStep),
    /// `send:` sends a frame.
    Send(SendStep),
    /// `set:` assigns variables.
    Set(SetStep),
}

/// One actor or several.
#[derive(JsonSchema)]
#[schemars(untagged)]
pub enum Actors {
    /// One actor.
    One(String),
    /// Several actors.
    Many(Vec<String>),
}

macro_rules! step {
    ($(#[$doc:meta])* $name:ident { $key:ident : $ty:ty $(, $(#[$fdoc:meta])* $field:ident : $fty:ty)* $(,)? }) => {
        $(#[$doc])*
        #[derive(JsonSchema)]
        #[schemars(deny_unknown_fields)]
        pub struct $name {
            #[allow(missing_docs)]
            pub $key: $ty,
            $($(#[$fdoc])* pub $field: $fty,)*
            /// Free text shown when the step fails.
            pub note: Option<String>,
            /// This step's timeout in milliseconds.
            pub timeout_ms: Option<u64>,
        }
    };
}

step!(
    /// `assert: { VAR: CHECK }`.
    AssertStep { assert: BTreeMap<String, CheckDoc> }
);
step!(
    /// `barrier: ACTOR` or `barrier: [A, B]`.
    BarrierStep { barrier: Actors }
);
step!(
    /// `connect: ACTOR`.
    ConnectStep { connect: String }
);
step!(
    /// `disconnect: ACTOR`.
    DisconnectStep { disconnect: String }
);
step!(
    /// `expect_closed: ACTOR`.
    ExpectClosedStep { expect_closed: String }
);
step!(
    /// `expect_no_push: ACTOR` or `expect_no_push: [A, B]`.
    ExpectNoPushStep { expect_no_push: Actors }
);
step!(
    /// `expect_any_order:` a list of `expect:` items.
    ExpectAnyOrderStep { expect_any_order: Vec<ExpectItem> }
);
step!(
    /// `set: { VAR: VALUE }`.
    SetStep { set: BTreeMap<String, Scalar> }
);
step!(
    /// `include: FRAGMENT` with `with:` parameters.
    IncludeStep {
        include: String,
        /// Values for the fragment's params.
        with: Option<BTreeMap<String, Scalar>>,
    }
);
step!(
    /// `repeat:` a loop with `times:` or `until:` + `max:`.
    RepeatStep { repeat: RepeatDoc }
);
step!(
    /// `expect: ACTOR`: the reply to the oldest unanswered request, the reply to a named
    /// request (`reply:`) or a push (`push: true`).
    ExpectStep {
        expect: String,
        /// Take the reply to the request named with this `as:`.
        reply: Option<String>,
        /// Take the first queued push that passes the checks.
        push: Option<bool>,
        /// Store the frame under this name (`${NAME.field}`, `reply_to:`).
        #[schemars(rename = "as")]
        as_: Option<String>,
        /// Field checks: `FIELD: CHECK`.
        #[schemars(rename = "match")]
        match_: Option<BTreeMap<String, CheckDoc>>,
        /// XML path checks on the body: `PATH: CHECK`.
        xml: Option<BTreeMap<String, CheckDoc>>,
        /// Captures into variables: `VAR: { field|xml|var: … }`.
        capture: Option<BTreeMap<String, CaptureDoc>>,
    }
);
step!(
    /// `answer: ACTOR`: from this step to the end of the case, every push on ACTOR that
    /// passes `match:` is taken out of the queue and answered with `with:` (the peer may send
    /// such a frame any number of times, or never).
    AnswerStep {
        answer: String,
        /// Store each answered push under this name while `with:` is built (`${NAME.field}`,
        /// `reply_to:`).
        #[schemars(rename = "as")]
        as_: Option<String>,
        /// Field checks the push must pass: `FIELD: CHECK`.
        #[schemars(rename = "match")]
        match_: Option<BTreeMap<String, CheckDoc>>,
        /// The answer, written as a `send:` step's keys.
        with: SendDoc,
    }
);
step!(
    /// `http: ACTOR`: one HTTP request; the response is the reply to it.
    HttpStep {
        http: String,
        /// Name of the request (for `reply:`).
        #[schemars(rename = "as")]
        as_: Option<String>,
        /// The method (default POST).
        method: Option<Scalar>,
        /// Path and query.
        target: Scalar,
        /// Headers in order; a list repeats a header.
        headers: Option<BTreeMap<String, HeaderValue>>,
        /// The body (escapes as in `raw:`).
        body: Option<Scalar>,
    }
);
step!(
    /// `send: ACTOR`: a structural frame (by protocol) or `raw:` bytes.
    SendStep {
        send: String,
        /// Name of the request (for `reply:`) and of the stored frame.
        #[schemars(rename = "as")]
        as_: Option<String>,
        /// The frame.
        #[schemars(flatten)]
        frame: SendDoc,
    }
);

/// A frame to send: the keys of a `send:` step (and of an `answer:` step's `with:`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SendDoc {
    /// Bytes as written, with `\r`, `\n`, `\t`, `\\`, `\xNN` escapes.
    pub raw: Option<Scalar>,
    /// Fetion/SIP request method.
    pub method: Option<Scalar>,
    /// Fetion/SIP response status.
    pub status: Option<Scalar>,
    /// Fetion/SIP reason phrase.
    pub reason: Option<Scalar>,
    /// Request target.
    pub target: Option<Scalar>,
    /// Protocol version token.
    pub version: Option<Scalar>,
    /// MSNP verb.
    pub verb: Option<Scalar>,
    /// MSNP transaction id.
    pub trid: Option<Scalar>,
    /// MSNP payload length override.
    pub length: Option<Scalar>,
    /// Headers in order; a list repeats a header.
    pub headers: Option<BTreeMap<String, HeaderValue>>,
    /// MSNP layered header blocks.
    pub blocks: Option<Vec<BTreeMap<String, HeaderValue>>>,
    /// Body text.
    pub body: Option<Scalar>,
    /// Fetion/SIP: the stored frame this response answers.
    pub reply_to: Option<String>,
    /// LeanCloud: the GenericCommand in readable form; a driver op (`{op: …}`).
    pub command: Option<serde_json::Value>,
}

/// An item of `expect_any_order:`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ExpectItem {
    /// The actor.
    pub expect: String,
    /// Take the reply to the request named with this `as:`.
    pub reply: Option<String>,
    /// Take the first queued push that passes the checks.
    pub push: Option<bool>,
    /// Store the frame under this name.
    #[schemars(rename = "as")]
    pub as_: Option<String>,
    /// Field checks.
    #[schemars(rename = "match")]
    pub match_: Option<BTreeMap<String, CheckDoc>>,
    /// XML path checks.
    pub xml: Option<BTreeMap<String, CheckDoc>>,
    /// Captures.
    pub capture: Option<BTreeMap<String, CaptureDoc>>,
    /// Free text shown when this item fails.
    pub note: Option<String>,
}

/// A header value: text, or a list to repeat the header.
#[derive(JsonSchema)]
#[schemars(untagged)]
pub enum HeaderValue {
    /// One value.
    One(Scalar),
    /// The header repeated once per value.
    Many(Vec<Scalar>),
}

/// A check: a value (equals) or a map of checks that must all hold.
#[derive(JsonSchema)]
#[schemars(untagged)]
pub enum CheckDoc {
    /// The first value equals this.
    Equals(Scalar),
    /// A map of checks.
    Map(Box<CheckMap>),
}

/// The check keys (scenarios/README.md §3.4).
#[derive(JsonSchema, Default)]
#[schemars(deny_unknown_fields)]
pub struct CheckMap {
    /// The first value equals this.
    pub equals: Option<Scalar>,
    /// The first value does not equal this.
    pub not_equals: Option<Scalar>,
    /// The first value equals this, ignoring ASCII case.
    pub iequals: Option<Scalar>,
    /// The first value matches this regex.
    pub regex: Option<Scalar>,
    /// The first value contains this.
    pub contains: Option<Scalar>,
    /// The first value is one of these.
    pub one_of: Option<Vec<Scalar>>,
    /// The field exists (`true`) or not.
    pub present: Option<bool>,
    /// The field does not exist (`true`).
    pub absent: Option<bool>,
    /// The first value is less than this number.
    pub lt: Option<Scalar>,
    /// … at most this number.
    pub le: Option<Scalar>,
    /// … greater than this number.
    pub gt: Option<Scalar>,
    /// … at least this number.
    pub ge: Option<Scalar>,
    /// … equal to this number.
    pub eq: Option<Scalar>,
    /// … not equal to this number.
    pub ne: Option<Scalar>,
    /// The number of values passes this check.
    pub count: Option<CheckDoc>,
    /// No value repeats.
    pub distinct: Option<bool>,
    /// Values strictly `ascending` or `descending`.
    pub order: Option<OrderDoc>,
    /// Every value passes this check.
    pub each: Option<CheckDoc>,
    /// At least one value passes this check.
    pub any: Option<CheckDoc>,
    /// The first value is the UTF-8 byte length of this other field.
    pub utf8_len_of: Option<String>,
}

/// Strict ordering.
#[derive(JsonSchema)]
#[schemars(rename_all = "lowercase")]
pub enum OrderDoc {
    /// Each value greater than the previous.
    Ascending,
    /// Each value less than the previous.
    Descending,
}

/// Where a capture takes its value(s): exactly one of `field`, `xml`, `var`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CaptureDoc {
    /// A frame field (`headers.A`, `body`).
    pub field: Option<String>,
    /// An XML path in the body.
    pub xml: Option<String>,
    /// Another variable.
    pub var: Option<String>,
    /// Keep group 1 (or the whole match) of this regex.
    pub regex: Option<String>,
    /// Keep every value as a list.
    pub all: Option<bool>,
    /// Append to an existing list.
    pub append: Option<bool>,
    /// Wrap the value: `{}` is replaced by it.
    pub format: Option<String>,
    /// Lower-case the value.
    pub lowercase: Option<bool>,
}

/// A `repeat:` loop.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RepeatDoc {
    /// The loop body.
    pub steps: Vec<StepDoc>,
    /// A fixed number of iterations (may hold `${…}`).
    pub times: Option<Scalar>,
    /// Stop after the iteration in which this variable check holds.
    pub until: Option<UntilDoc>,
    /// Hard bound on iterations (needed with `until`).
    pub max: Option<u64>,
}

/// `until: { var: NAME, CHECK… }`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct UntilDoc {
    /// The variable checked.
    pub var: String,
    /// The check keys.
    #[schemars(flatten)]
    pub check: CheckMap,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::load::expect::{CAPTURE_KEYS, CHECK_KEYS, EXPECT_KEYS};
    use super::super::load::steps::{REPEAT_KEYS, STEP_KINDS, step_keys};
    use super::*;

    fn properties(defs: &serde_json::Value, name: &str) -> BTreeSet<String> {
        defs[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has no properties"))
            .keys()
            .cloned()
            .collect()
    }

    fn set(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    /// The schema's keys are the loader's: a key added to one and not the other fails here.
    #[test]
    fn schema_keys_are_the_loaders() {
        let schema: serde_json::Value = serde_json::from_str(&case_schema()).unwrap();
        let defs = &schema["$defs"];
        let mut kinds = BTreeSet::new();
        for variant in defs["StepDoc"]["anyOf"].as_array().unwrap() {
            let name = variant["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            let mut keys = properties(defs, name);
            assert!(keys.remove("note") && keys.remove("timeout_ms"), "{name}");
            let kind = keys
                .iter()
                .find(|k| STEP_KINDS.contains(&k.as_str()))
                .unwrap_or_else(|| panic!("{name}: no step kind among {keys:?}"))
                .clone();
            keys.remove(&kind);
            assert_eq!(keys, set(step_keys(&kind)), "the keys of `{kind}:` steps");
            kinds.insert(kind);
        }
        assert_eq!(kinds, set(STEP_KINDS), "step kinds");
        assert_eq!(properties(defs, "CheckMap"), set(CHECK_KEYS), "check keys");
        assert_eq!(
            properties(defs, "CaptureDoc"),
            set(CAPTURE_KEYS),
            "capture keys"
        );
        let mut item = set(EXPECT_KEYS);
        item.extend(["expect".to_owned(), "note".to_owned()]);
        assert_eq!(
            properties(defs, "ExpectItem"),
            item,
            "expect_any_order items"
        );
        assert_eq!(
            properties(defs, "RepeatDoc"),
            set(REPEAT_KEYS),
            "repeat keys"
        );
        let mut until = set(CHECK_KEYS);
        until.insert("var".to_owned());
        assert_eq!(properties(defs, "UntilDoc"), until, "repeat until keys");
    }

    #[test]
    fn schema_names_come_from_the_registry() {
        let schema: serde_json::Value = serde_json::from_str(&case_schema()).unwrap();
        let consts = |name: &str| -> Vec<String> {
            schema["$defs"][name]["oneOf"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["const"].as_str().unwrap().to_owned())
                .collect()
        };
        let protocols: Vec<String> = Protocol::all().map(|p| p.name().to_owned()).collect();
        assert_eq!(consts("ProtocolName"), protocols);
        let services: Vec<String> = proto::services().map(str::to_owned).collect();
        assert_eq!(consts("ServiceName"), services);
    }
}
