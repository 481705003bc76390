//! The JSON report: an array with one object per case ([`Case`]). Its JSON Schema,
//! generated from these types, is `docs/schema/report.json`.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::runner::{CaseResult, Verdict, WireEntry};
use crate::scenario::{Evidence, Level};

/// One case of the JSON report. Unless it passed, the failure fields say where and why.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "imspec JSON report: one case")]
pub struct Case<'a> {
    /// Stable case id: the path under `scenarios/` without `.yaml`, plus `@gateway` for an
    /// MSNP case over the HTTP gateway and `@chop` for a chopped twin (`--chop`).
    pub id: &'a str,
    /// The case's title.
    pub title: &'a str,
    /// The verdict.
    pub verdict: Verdict,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The rules the case checks.
    pub rules: Vec<RuleRef<'a>>,
    /// The failing step: its number as the file shows it (`7`, `7.2` inside a repeat,
    /// `fragment fetion/login step 3, included at 001-x.yaml:14`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<&'a str>,
    /// `file:line:column` of the failing step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<&'a str>,
    /// What the step does (`expect reply on alice`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'a str>,
    /// What went wrong (for a skip: why it was skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// What the scenario expected, `${…}` filled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<&'a str>,
    /// What arrived instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<&'a str>,
    /// Present (`true`) when a connection to a target service could not be opened.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
    /// The whole wire log of the case, for every verdict: each frame sent (`send`) and
    /// received (`recv`) by each actor and each connection event (`event`), in order, with
    /// milliseconds since the case started. Frames are shown escaped (`\r\n`, `\xNN`;
    /// LeanCloud in its readable JSON form); an entry longer than 8 KiB is cut on a character
    /// boundary and says how long it was.
    pub wire: &'a [WireEntry],
}

/// A rule as the report names it.
#[derive(Serialize, JsonSchema)]
pub struct RuleRef<'a> {
    /// Stable rule id.
    pub id: &'a str,
    /// `must` or `should`.
    pub level: Level,
    /// `high`, `medium` or `low`.
    pub evidence: Evidence,
    /// Where the rule comes from.
    pub source: &'a str,
}

/// The report of a run: one object per case, in run order.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "imspec JSON report")]
#[serde(transparent)]
pub struct Report<'a>(pub Vec<Case<'a>>);

/// One case as JSON.
pub fn case(r: &CaseResult) -> Value {
    serde_json::to_value(of(r)).unwrap_or(Value::Null)
}

/// The whole report, pretty-printed.
pub fn render(results: &[CaseResult]) -> String {
    let all = Report(results.iter().map(of).collect());
    // Through a `Value`, so keys come out sorted as they always have.
    let value = serde_json::to_value(&all).unwrap_or_default();
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| "[]".into())
}

/// The JSON Schema of the report, pretty-printed (`docs/schema/report.json`).
pub fn schema() -> String {
    let mut text =
        serde_json::to_string_pretty(&schemars::schema_for!(Report<'static>)).unwrap_or_default();
    text.push('\n');
    text
}

fn of(r: &CaseResult) -> Case<'_> {
    let f = r.failure.as_ref();
    Case {
        id: &r.id,
        title: &r.title,
        verdict: r.verdict,
        duration_ms: r.duration_ms,
        rules: r
            .rules
            .iter()
            .map(|x| RuleRef {
                id: &x.id,
                level: x.level,
                evidence: x.evidence,
                source: &x.source,
            })
            .collect(),
        step: f.map(|f| f.step.as_str()),
        location: f.map(|f| f.location.as_str()),
        action: f.map(|f| f.action.as_str()),
        reason: f.map(|f| f.reason.as_str()),
        expected: f.and_then(|f| f.expected.as_deref()),
        actual: f.and_then(|f| f.actual.as_deref()),
        unreachable: r.unreachable,
        wire: &r.wire,
    }
}
