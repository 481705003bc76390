//! The JSON Schemas under `docs/schema/`: generated from the Rust types, committed, and
//! checked against every scenario, every fragment and a sample report.
//!
//! When a type changes, regenerate them with
//! `IMSPEC_WRITE_SCHEMAS=1 cargo test -p imspec-harness --test tests schema`.

use std::path::{Path, PathBuf};

use imspec_harness::report::json;
use imspec_harness::runner::{CaseResult, Direction, Failure, Verdict, WireEntry};
use imspec_harness::scenario::{Evidence, Level, Rule, schema};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The committed schema `name`, after checking it is what the types generate now.
fn committed(name: &str, generated: &str) -> serde_json::Value {
    let path = root().join("docs/schema").join(name);
    if std::env::var_os("IMSPEC_WRITE_SCHEMAS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        text == generated,
        "docs/schema/{name} is stale: regenerate it with IMSPEC_WRITE_SCHEMAS=1 cargo test -p imspec-harness --test tests schema"
    );
    serde_json::from_str(&text).unwrap()
}

fn yaml_files(dir: &Path, fragments: bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, fragments, out);
        } else if path.extension().is_some_and(|e| e == "yaml")
            && path.parent().is_some_and(|p| p.ends_with("fragments")) == fragments
        {
            out.push(path);
        }
    }
}

fn errors(validator: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn check_all(schema_name: &str, generated: &str, fragments: bool) {
    let validator = jsonschema::validator_for(&committed(schema_name, generated)).unwrap();
    let mut files = Vec::new();
    yaml_files(&root().join("scenarios"), fragments, &mut files);
    assert!(!files.is_empty());
    for f in files {
        let doc: serde_json::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let bad = errors(&validator, &doc);
        assert!(bad.is_empty(), "{}: {}", f.display(), bad.join("; "));
    }
}

#[test]
fn schema_every_scenario_is_valid() {
    check_all("scenario.json", &schema::case_schema(), false);
}

#[test]
fn schema_every_fragment_is_valid() {
    check_all("fragment.json", &schema::fragment_schema(), true);
}

#[test]
fn schema_marks_a_misspelled_key_or_matcher() {
    let validator =
        jsonschema::validator_for(&committed("scenario.json", &schema::case_schema())).unwrap();
    let good = "title: t\nprotocol: msnp\nactors: { alice: msnp }\nsteps:\n  - connect: alice\n  - expect: alice\n    match: { verb: { regex: '^PNG$' } }\n";
    let doc: serde_json::Value = serde_yaml::from_str(good).unwrap();
    assert_eq!(errors(&validator, &doc), Vec::<String>::new());
    for typo in [
        good.replace("regex:", "regx:"),
        good.replace("match:", "mach:"),
        good.replace("protocol: msnp", "protocol: msnq"),
        good.replace("- connect", "- conect"),
    ] {
        let doc: serde_json::Value = serde_yaml::from_str(&typo).unwrap();
        assert!(!errors(&validator, &doc).is_empty(), "{typo}");
    }
}

#[test]
fn schema_a_sample_report_is_valid() {
    let validator = jsonschema::validator_for(&committed("report.json", &json::schema())).unwrap();
    let rule = Rule {
        id: "msnp.png-answered".into(),
        text: "PNG is answered".into(),
        source: "docs/protocols/msnp.md §3".into(),
        evidence: Evidence::Medium,
        level: Level::Must,
    };
    let wire = vec![
        WireEntry {
            t_ms: 0.5,
            actor: "alice".into(),
            dir: Direction::Event,
            text: "connected to service msnp".into(),
            event: Some("connect".into()),
            conn: Some(1),
            ..WireEntry::default()
        },
        WireEntry {
            t_ms: 1.0,
            actor: "alice".into(),
            dir: Direction::SEND,
            text: "PNG 31 CON 0\\r\\n".into(),
            conn: Some(1),
            raw: Some(b"PNG 31 CON 0\r\n".as_slice().into()),
            ..WireEntry::default()
        },
        WireEntry {
            t_ms: 2.25,
            actor: "alice".into(),
            dir: Direction::RECV,
            text: "QNG 31 CON 0\\r\\n".into(),
            conn: Some(1),
            raw: Some(b"QNG 31 CON 0\r\n".as_slice().into()),
            ..WireEntry::default()
        },
    ];
    let pass = CaseResult {
        id: "msnp/007-png-answered".into(),
        title: "PNG is answered".into(),
        verdict: Verdict::Pass,
        duration_ms: 3,
        rules: vec![rule.clone()],
        failure: None,
        wire: wire.clone(),
        ..CaseResult::default()
    };
    let fail = CaseResult {
        id: "msnp/007-png-answered@chop".into(),
        verdict: Verdict::Fail,
        failure: Some(Failure {
            step: "4".into(),
            location: "scenarios/msnp/007-png-answered.yaml:20:3".into(),
            action: "expect reply to ping on alice".into(),
            reason: "verb: expected PNG, got QNG".into(),
            expected: Some("PNG".into()),
            actual: Some("QNG".into()),
            ..Failure::default()
        }),
        unreachable: true,
        runs: [(Verdict::Pass, 3), (Verdict::Fail, 1)]
            .into_iter()
            .collect(),
        ..pass.clone()
    };
    let report: serde_json::Value = serde_json::from_str(&json::render(&[pass, fail])).unwrap();
    assert_eq!(errors(&validator, &report), Vec::<String>::new());
    let mut broken = report.clone();
    broken[1]["verdict"] = "failed".into();
    assert!(!errors(&validator, &broken).is_empty());
}
