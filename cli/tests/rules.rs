use crate::common::root;
use imspec_harness::scenario::{self, cite, rules};

fn all_cases() -> Vec<scenario::Scenario> {
    let files = scenario::discover(&[root().join("scenarios")]).unwrap();
    files.iter().map(|f| scenario::load(f).unwrap()).collect()
}

/// Every `source:` cites a repository file (and § that it has), a seed or an RFC.
#[test]
fn every_rule_source_cites_something_that_exists() {
    let mut bad = Vec::new();
    for case in all_cases() {
        for rule in &case.rules {
            if let Err(e) = cite::check(&rule.source, &root()) {
                bad.push(format!("{} rule {}: {e}", case.path.display(), rule.id));
            }
        }
    }
    assert!(bad.is_empty(), "bad sources:\n{}", bad.join("\n"));
}

/// Copies of a rule in several cases agree, so `imspec run` and `list` load the suite.
#[test]
fn rules_are_stated_the_same_in_every_case() {
    let errors = rules::catalog(&all_cases()).err().unwrap_or_default();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(text.is_empty(), "{}", text.join("\n"));
}

/// docs/rules.md is the current `imspec list --rules --format markdown`.
#[test]
fn rules_doc_is_current() {
    let entries = rules::catalog(&all_cases()).unwrap();
    let want = rules::markdown(&entries);
    let path = root().join("docs/rules.md");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rules.md is stale; regenerate it with\n    \
         cargo run --quiet -- list --rules --format markdown > docs/rules.md"
    );
}

/// The docs the README and the seed index promise exist, with the sections rules cite.
#[test]
fn protocol_docs_have_numbered_sections() {
    for name in ["fetion", "msnp", "gateway", "leancloud", "sip"] {
        let path = root().join(format!("docs/protocols/{name}.md"));
        let text = std::fs::read_to_string(&path).unwrap();
        let sections = cite::sections_of(&text);
        assert!(sections.contains("1"), "{} has no §1", path.display());
    }
}

/// `imspec list --rules` refuses a suite whose copies of one rule differ (exit 2, naming the
/// file and line), and prints the catalog of a consistent one.
#[test]
fn list_rules_exits_2_on_conflicting_copies() {
    let dir = tempfile::tempdir().unwrap();
    let fetion = dir.path().join("fetion");
    std::fs::create_dir_all(&fetion).unwrap();
    let case = |text: &str| {
        format!(
            "title: t\nprotocol: fetion\nrules:\n  - id: sipc.x\n    text: {text}\n    \
             source: RFC 3261\n    evidence: high\nsteps: []\n"
        )
    };
    std::fs::write(fetion.join("001-a.yaml"), case("One.")).unwrap();
    std::fs::write(fetion.join("002-b.yaml"), case("One.")).unwrap();
    let list = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_imspec"))
            .args(["list", "--rules"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let ok = list();
    assert_eq!(ok.status.code(), Some(0));
    let out = String::from_utf8(ok.stdout).unwrap();
    assert!(out.contains("sipc.x (must, evidence high)"), "{out}");
    assert!(out.contains("cases:  fetion/001-a, fetion/002-b"), "{out}");

    std::fs::write(fetion.join("002-b.yaml"), case("Another.")).unwrap();
    let bad = list();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(
        err.contains("002-b.yaml:4:3: rule `sipc.x` differs in its text"),
        "{err}"
    );
}
