use std::path::{Path, PathBuf};

use imspec::scenario::{self, ExpectSource, StepKind};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios")
        .join(rel)
}

/// Loads `text` as if it were `scenarios/fetion/900-test.yaml` beside the fixtures, so
/// fragments resolve.
fn load_text(text: &str) -> Result<scenario::Scenario, scenario::ScenarioError> {
    scenario::load_str(&fixture("fetion/900-test.yaml"), text)
}

#[test]
fn readme_fetion_example_loads_with_fragment_spliced() {
    let s = scenario::load(&fixture("fetion/001-startchat.yaml")).unwrap();
    assert_eq!(s.id, "fetion/001-startchat");
    assert_eq!(s.rules.len(), 2);
    assert!(s.is_strict());
    // connect + 4 login steps + send + expect + connect + send + expect + expect_no_push
    assert_eq!(s.steps.len(), 11);
    let StepKind::Send(login) = &s.steps[1].kind else {
        panic!("{:?}", s.steps[1])
    };
    assert_eq!(login.actor, "alice");
    assert_eq!(login.frame.headers[0].1.0, "${fresh:alice}");
    assert!(s.steps[1].span.file.ends_with("fragments/login.yaml"));
    assert_eq!(s.steps[1].span.line, 5);
    let StepKind::Expect(e) = &s.steps[6].kind else {
        panic!()
    };
    assert_eq!(e.source, ExpectSource::Reply("startchat".into()));
    assert_eq!(e.captures.len(), 2);
    assert_eq!(s.steps[6].span.line, 33);
}

#[test]
fn readme_msnp_example_loads() {
    let s = scenario::load(&fixture("msnp/010-history-paging.yaml")).unwrap();
    assert_eq!(s.id, "msnp/010-history-paging");
    let repeats: Vec<_> = s
        .steps
        .iter()
        .filter(|st| matches!(st.kind, StepKind::Repeat(_)))
        .collect();
    assert_eq!(repeats.len(), 2);
    let StepKind::Repeat(r) = &repeats[1].kind else {
        panic!()
    };
    assert_eq!(r.max, 10);
    assert!(r.until.is_some());
    // The nested steps point at their own lines.
    assert_eq!(r.steps[0].span.line, 50);
}

#[test]
fn discover_skips_fragments() {
    let files = scenario::discover(&[fixture("")]).unwrap();
    let ids: Vec<String> = files.iter().map(|p| scenario::load::case_id(p)).collect();
    assert_eq!(ids, ["fetion/001-startchat", "msnp/010-history-paging"]);
}

#[test]
fn unknown_actor_points_at_the_step() {
    let text = "title: t\nprotocol: fetion\nactors:\n  alice: fetion\nsteps:\n  - connect: alice\n  - send: bob\n    method: R\n";
    let e = load_text(text).unwrap_err();
    assert_eq!((e.span.line, e.span.column), (7, 3), "{e}");
    assert!(e.message.contains("unknown actor `bob`"), "{e}");
    assert!(
        e.to_string()
            .ends_with("900-test.yaml:7:3: unknown actor `bob` (declared: alice)"),
        "{e}"
    );
}

#[test]
fn issue_15_bad_check_points_at_its_key() {
    // Why: a misspelled matcher was reported at its step's line, not at the key's.
    let text = "title: t\nprotocol: fetion\nactors: { alice: fetion }\nsteps:\n- connect: alice\n- expect: alice\n  match:\n    status: { bigger: 3 }\n";
    let e = load_text(text).unwrap_err();
    assert_eq!((e.span.line, e.span.column), (8, 15), "{e}");
    assert!(e.message.contains("unknown check `bigger`"), "{e}");
}

#[test]
fn nested_repeat_step_error_points_inside_the_loop() {
    let text = "title: t\nprotocol: msnp\nactors: { a: msnp }\nsteps:\n  - connect: a\n  - repeat:\n      max: 3\n      until: { var: x, equals: y }\n      steps:\n        - send: a\n          verb: PNG\n        - sleep: 1\n";
    let e = scenario::load_str(&fixture("msnp/900-test.yaml"), text).unwrap_err();
    assert_eq!(e.span.line, 12, "{e}");
    assert!(e.message.starts_with("unknown step `sleep`"), "{e}");
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let e = load_text("title: t\nprotocol: fetion\nsteps:\n  - connect: [a\n").unwrap_err();
    assert!(e.span.line >= 4, "{e}");
    assert!(e.span.column > 0, "{e}");
}

#[test]
fn missing_field_is_reported() {
    let e = load_text("protocol: fetion\nsteps: []\n").unwrap_err();
    assert!(e.message.contains("missing field `title`"), "{e}");
}

#[test]
fn unknown_fragment_parameter_points_at_include() {
    let text = "title: t\nprotocol: fetion\nactors: { alice: fetion }\nsteps:\n  - include: login\n    with: { user: x }\n";
    let e = load_text(text).unwrap_err();
    assert_eq!(e.span.line, 5, "{e}");
    assert!(e.message.contains("no parameter `user`"), "{e}");
}

#[test]
fn wrong_protocol_keys_are_refused() {
    let text = "title: t\nprotocol: fetion\nactors: { alice: fetion }\nsteps:\n  - send: alice\n    verb: PNG\n";
    let e = load_text(text).unwrap_err();
    assert!(
        e.message.contains("`verb` is not a fetion frame key"),
        "{e}"
    );
}

#[test]
fn repeat_until_without_max_is_refused() {
    let text = "title: t\nprotocol: fetion\nactors: { alice: fetion }\nsteps:\n  - repeat:\n      until: { var: x, equals: y }\n      steps: []\n";
    let e = load_text(text).unwrap_err();
    assert!(e.message.contains("hard bound `max:`"), "{e}");
}
