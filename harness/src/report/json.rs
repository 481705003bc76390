//! The JSON report: an array with one object per case.

use serde_json::{Value, json};

use crate::runner::CaseResult;

/// One case as JSON: `id`, `title`, `verdict`, `duration_ms`, `rules`, and unless it passed,
/// `step`, `location`, `action`, `reason`, `expected`, `actual`; with `--repeat N` (N > 1)
/// `runs`, each verdict's count of runs (`{"pass": 18, "fail": 2}`, verdict `flaky` when
/// both passing and failing runs occurred); always `wire`.
pub fn case(r: &CaseResult) -> Value {
    let mut v = json!({
        "id": r.id,
        "title": r.title,
        "verdict": r.verdict.name(),
        "duration_ms": r.duration_ms,
        "rules": r.rules.iter().map(|x| json!({
            "id": x.id, "level": x.level.to_string(), "evidence": x.evidence.to_string(), "source": x.source,
        })).collect::<Vec<_>>(),
    });
    if let (Some(f), Some(obj)) = (&r.failure, v.as_object_mut()) {
        obj.insert("step".into(), json!(f.step));
        obj.insert("location".into(), json!(f.location));
        obj.insert("action".into(), json!(f.action));
        obj.insert("reason".into(), json!(f.reason));
        if let Some(e) = &f.expected {
            obj.insert("expected".into(), json!(e));
        }
        if let Some(a) = &f.actual {
            obj.insert("actual".into(), json!(a));
        }
    }
    if !r.runs.is_empty()
        && let Some(obj) = v.as_object_mut()
    {
        let runs: serde_json::Map<String, Value> = r
            .runs
            .iter()
            .map(|(v, n)| (v.name().to_owned(), json!(n)))
            .collect();
        obj.insert("runs".into(), Value::Object(runs));
    }
    if r.unreachable
        && let Some(obj) = v.as_object_mut()
    {
        obj.insert("unreachable".into(), json!(true));
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "wire".into(),
            serde_json::to_value(&r.wire).unwrap_or(Value::Null),
        );
    }
    v
}

/// The whole report, pretty-printed.
pub fn render(results: &[CaseResult]) -> String {
    let all: Vec<Value> = results.iter().map(case).collect();
    serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".into())
}
