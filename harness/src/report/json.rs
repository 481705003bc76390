//! The JSON report: an array with one object per case, exactly [`CaseResult`]'s serde form.
//!
//! Each object has `id`, `title`, `verdict`, `duration_ms`, `rules` (`id`, `text`, `source`,
//! `evidence`, `level`); unless the case passed, `step`, `location`, `action`, `reason`,
//! `expected`, `actual`, `note` and `waited` (`actor`, `from`, `to`, `frame`: the wire entries
//! logged while the failing step ran and the received frame that failed its checks); `unreachable`
//! when a target could not be reached; `started_us` (Unix microseconds), `actors` (actor →
//! protocol module) and `wire` (`t_ms`, `actor`, `dir`, `text`, and `event`, `peer`, `conn`,
//! `raw` in base64); and when the run recorded them, `connections` (`id`, `actor`, `protocol`,
//! `peer`, `local`, `remote`, `t_ms`, `chunks` of `t_ms`, `way`, `raw`, `fin`); with `--repeat N`
//! (N > 1) `runs`, each verdict's count of runs (`{"pass": 18, "fail": 2}`, verdict `flaky`
//! when both passing and failing runs occurred).
//!
//! Its JSON Schema, generated from these types, is `docs/schema/report.json` ([`schema`]).

use crate::runner::CaseResult;

/// The whole report, pretty-printed.
pub fn render(results: &[CaseResult]) -> String {
    serde_json::to_string_pretty(results).unwrap_or_else(|_| "[]".into())
}

/// Reads a report [`render`] wrote.
pub fn parse(text: &str) -> Result<Vec<CaseResult>, serde_json::Error> {
    serde_json::from_str(text)
}

/// Joins the reports of `--partition K/N` shards, given in K order, into the order one
/// unpartitioned run has (case `i` ran in shard `i % N`).
pub fn merge(shards: Vec<Vec<CaseResult>>) -> Vec<CaseResult> {
    let total = shards.iter().map(Vec::len).sum();
    let mut iters: Vec<_> = shards.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        for it in &mut iters {
            if let Some(r) = it.next() {
                out.push(r);
            }
        }
    }
    out
}

/// The JSON Schema of the report, pretty-printed (`docs/schema/report.json`).
pub fn schema() -> String {
    let mut schema = schemars::schema_for!(Vec<CaseResult>);
    schema.insert("title".into(), "imspec JSON report".into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Failure, Verdict};

    fn case(id: &str) -> CaseResult {
        CaseResult {
            id: id.into(),
            ..CaseResult::default()
        }
    }

    #[test]
    fn json_round_trips_with_and_without_a_failure() {
        let mut failed = case("a/1");
        failed.verdict = Verdict::Skip;
        failed.failure = Some(Failure {
            reason: "no capability".into(),
            ..Failure::default()
        });
        let all = vec![failed, case("a/2")];
        let back = parse(&render(&all)).unwrap();
        assert_eq!(back[0].failure, all[0].failure);
        assert_eq!(back[1].failure, None);
        assert_eq!(render(&back), render(&all));
    }

    #[test]
    fn json_reads_a_report_written_before_the_recording_fields() {
        // The shape of reports before `raw`, `connections` and friends (and rules' `text`).
        let old = r#"[{"action":"expect reply on alice","actual":"2 S","duration_ms":12,
            "expected":"1 S","id":"fetion/002","location":"x.yaml:21:3","reason":"differs",
            "rules":[{"evidence":"high","id":"r","level":"must","source":"s"}],"step":"3",
            "title":"t","verdict":"fail","wire":[{"actor":"alice","dir":"send","t_ms":0.5,
            "text":"S x"}]}]"#;
        let r = &parse(old).unwrap()[0];
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.failure.as_ref().unwrap().expected.as_deref(), Some("1 S"));
        assert_eq!(
            (r.rules[0].id.as_str(), r.wire[0].raw.as_ref()),
            ("r", None)
        );
        assert!(r.connections.is_empty());
    }

    #[test]
    fn json_merge_restores_the_unpartitioned_order() {
        let ids = |v: &[CaseResult]| v.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        // Five cases in two shards: shard 1 ran 0, 2, 4; shard 2 ran 1, 3.
        let merged = merge(vec![
            vec![case("0"), case("2"), case("4")],
            vec![case("1"), case("3")],
        ]);
        assert_eq!(ids(&merged), ["0", "1", "2", "3", "4"]);
    }
}
