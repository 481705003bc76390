//! Report snapshots: the console failure text, the JSON object and the JUnit XML of fixed results.

use imspec::report::{human, json, junit};
use imspec::runner::{CaseResult, Direction, Failure, Verdict, WireEntry};
use imspec::scenario::{Evidence, Level, Rule};

/// Every insta snapshot of this crate goes to the top-level `snapshots/harness/`.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots/harness"));
    s.set_prepend_module_to_snapshot(false);
    s
}

fn failed() -> CaseResult {
    CaseResult {
        id: "fetion/002-response-echoes-i-q".into(),
        title: "Every response echoes the request's I and Q".into(),
        verdict: Verdict::Fail,
        duration_ms: 12,
        rules: vec![Rule {
            id: "sipc.response-echoes-i-q".into(),
            text: "A response's I and Q equal the request's, byte for byte.".into(),
            source: "PROTOCOLS.md §3.7 (1); seed 004".into(),
            evidence: Evidence::High,
            level: Level::Must,
        }],
        failure: Some(Failure {
            step: "3".into(),
            location: "scenarios/fetion/002-response-echoes-i-q.yaml:21:3".into(),
            action: "expect reply on alice".into(),
            reason: "reply to `I: 1 | Q: 1 S` on `alice`: `headers.Q` differs".into(),
            expected: Some("1 S".into()),
            actual: Some("2 S".into()),
            note: None,
            waited: None,
        }),
        unreachable: false,
        wire: vec![
            WireEntry {
                t_ms: 0.25,
                actor: "alice".into(),
                dir: Direction::Event,
                text: "connected to service fetion".into(),
                ..WireEntry::default()
            },
            WireEntry {
                t_ms: 0.5,
                actor: "alice".into(),
                dir: Direction::Send,
                text:
                    "S fetion.com.cn SIP-C/2.0\\r\\nN: StartChat\\r\\nI: 1\\r\\nQ: 1 S\\r\\n\\r\\n"
                        .into(),
                ..WireEntry::default()
            },
            WireEntry {
                t_ms: 3.125,
                actor: "alice".into(),
                dir: Direction::Recv,
                text: "SIP-C/2.0 200 OK\\r\\nI: 1\\r\\nQ: 2 S\\r\\n\\r\\n".into(),
                ..WireEntry::default()
            },
        ],
        ..CaseResult::default()
    }
}

fn passed() -> CaseResult {
    CaseResult {
        id: "msnp/001-login".into(),
        title: "login".into(),
        verdict: Verdict::Pass,
        failure: None,
        wire: vec![],
        ..failed()
    }
}

#[test]
fn human_failure_text() {
    settings()
        .bind(|| insta::assert_snapshot!("human_failure", human::failure_text(&failed(), false)));
}

#[test]
fn json_report() {
    settings().bind(|| insta::assert_snapshot!("json_report", json::render(&[failed(), passed()])));
}

#[test]
fn junit_report() {
    let xml = junit::render(&[failed(), passed()]).unwrap();
    settings().bind(|| insta::assert_snapshot!("junit_report", xml));
}

#[test]
fn summary_and_difference_marker() {
    assert_eq!(human::first_difference("1 S", "2 S"), 0);
    assert_eq!(human::first_difference("abc", "abd"), 2);
    assert_eq!(
        human::summary(&[failed(), passed()], 1500),
        "2 cases: 1 passed, 1 failed, 0 non-strict, 0 skipped, 0 xfail, 0 xpass in 1.50 s"
    );
}
