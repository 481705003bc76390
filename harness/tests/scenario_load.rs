use std::path::{Path, PathBuf};

use imspec_harness::scenario::{self, ExpectSource, StepKind};

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

/// A `requires:` naming a capability outside the registry is refused at its line.
#[test]
fn unknown_capability_is_refused() {
    let e = load_text("title: t\nprotocol: fetion\nrequires: [fetion.chat, fetion.chatt]\nactors: { a: fetion }\nsteps: []\n")
        .unwrap_err();
    assert_eq!((e.span.line, e.span.column), (3, 1), "{e}");
    assert!(
        e.message.contains("unknown capability `fetion.chatt`"),
        "{e}"
    );
}

/// The README's Fetion example with one typo of each kind issue 15 names: each load fails
/// (exit 2 in `imspec run`) at the line of the typo, not at its step.
#[test]
fn issue_15_every_single_typo_fails_at_its_line() {
    let good = std::fs::read_to_string(fixture("fetion/001-startchat.yaml")).unwrap();
    load_text(&good).unwrap();
    // (text as written, the typo, what the message names)
    let typos: &[(&str, &str, &str)] = &[
        // a misspelled field of a match (per protocol; headers stay free-form)
        (
            "      status: 200\n      headers.Q",
            "      statsu: 200\n      headers.Q",
            "unknown field `statsu`",
        ),
        // a misspelled matcher
        (
            "headers.X: { present: true }",
            "headers.X: { presnt: true }",
            "unknown check `presnt`",
        ),
        // a variable never set or captured
        (
            "A: TICKS auth=\"${credential}\"",
            "A: TICKS auth=\"${credentail}\"",
            "unknown variable `credentail`",
        ),
        // a stored frame's field that frame cannot have
        (
            "${startchat.headers.Q}",
            "${startchat.header.Q}",
            "unknown field `header.Q`",
        ),
        // a reply naming a request that was never named
        ("reply: startchat ", "reply: startchta ", "names no request"),
        // a misspelled capture key and capture field
        (
            "credential: { field: headers.A",
            "credential: { feild: headers.A",
            "unknown key `feild`",
        ),
        (
            "chat_addr:  { field: headers.A",
            "chat_addr:  { field: header.A",
            "unknown field `header.A`",
        ),
        // a misspelled step key
        (
            "    as: startchat  ",
            "    az: startchat  ",
            "unknown key `az`",
        ),
        // a misspelled step
        (
            "  - expect_no_push: alice_chat",
            "  - expect_no_psh: alice_chat",
            "unknown step `expect_no_psh`",
        ),
        // a misspelled actor
        (
            "  - connect: alice_chat\n",
            "  - connect: alice_caht\n",
            "unknown actor `alice_caht`",
        ),
        // a misspelled function
        (
            "F: ${fresh:alice}\n      N:",
            "F: ${lowr(x)}\n      N:",
            "unknown function `lowr`",
        ),
    ];
    for (from, to, says) in typos {
        assert_eq!(good.matches(from).count(), 1, "{from}");
        let bad = good.replacen(from, to, 1);
        // The line of the typo's first non-blank character.
        let at = bad.find(to).unwrap() + to.find(|c: char| !c.is_whitespace()).unwrap();
        let want = bad[..at].matches('\n').count() + 1;
        let e = load_text(&bad).unwrap_err();
        assert!(e.message.contains(says), "{to}: {e}");
        assert_eq!(e.span.line, want, "{to}: {e}");
        assert!(!e.message.contains("Sequence"), "{to}: {e}");
    }
}

#[test]
fn issue_15_note_on_any_order_items_and_no_push_lists() {
    let text = "title: t\nprotocol: fetion\nactors: { a: fetion, b: fetion }\nsteps:\n- connect: a\n- connect: b\n- expect_any_order:\n    - expect: a\n      push: true\n      note: a hears it first\n    - expect: b\n      push: true\n- expect_no_push: [a, b]\n";
    let s = load_text(text).unwrap();
    let StepKind::ExpectAnyOrder(items) = &s.steps[2].kind else {
        panic!("{:?}", s.steps[2].kind)
    };
    assert_eq!(items[0].note.as_deref(), Some("a hears it first"));
    assert_eq!(items[1].note, None);
    assert_eq!(
        s.steps[3].kind,
        StepKind::ExpectNoPush(vec!["a".into(), "b".into()])
    );
    // A list where one actor belongs is described, never echoed as YAML.
    let e = load_text(&text.replace("- connect: b", "- connect: [a, b]")).unwrap_err();
    assert_eq!(
        e.message, "`connect` takes an actor name, found a list",
        "{e}"
    );
    let e =
        load_text(&text.replace("      note: a hears it first", "      note: [a, b]")).unwrap_err();
    assert_eq!(
        e.message, "`note` takes a single value, found a list",
        "{e}"
    );
    assert_eq!(e.span.line, 10, "{e}");
    let e = load_text(&text.replace("- connect: b", "- include: { login: x }")).unwrap_err();
    assert_eq!(
        e.message, "`include` takes a single value, found a map",
        "{e}"
    );
    let e = load_text(&text.replace(
        "      push: true\n      note",
        "      reply: [x]\n      note",
    ))
    .unwrap_err();
    assert_eq!(
        e.message, "`reply` takes a single value, found a list",
        "{e}"
    );
}

/// Every built-in fragment declares what it provides (`scenario::fragment`).
#[test]
fn builtin_fragments_declare_provides() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    for proto in std::fs::read_dir(&root).unwrap() {
        let dir = proto.unwrap().path().join("fragments");
        for f in std::fs::read_dir(&dir).into_iter().flatten() {
            let f = f.unwrap().path();
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                text.contains("\nprovides:\n"),
                "{} has no provides:",
                f.display()
            );
            scenario::load::fragment_contract(&f).unwrap();
        }
    }
}

#[test]
fn issue_15_steps_know_their_number_and_include_chain() {
    let s = scenario::load(&fixture("fetion/001-startchat.yaml")).unwrap();
    // connect, then the four login steps, then the file's third step.
    assert_eq!(s.steps[0].origin.number, 1);
    assert!(s.steps[0].origin.included.is_empty());
    let login = &s.steps[3].origin;
    assert_eq!(login.number, 3);
    assert_eq!(login.included.len(), 1);
    assert_eq!(login.included[0].fragment, "fetion/login");
    assert_eq!(login.included[0].at.line, 23);
    assert_eq!(s.steps[5].origin.number, 3);
}

#[test]
fn answer_needs_with_names_its_push_beside_it_and_checks_what_it_uses() {
    let base = "title: t\nprotocol: fetion\nactors: { alice: fetion }\nsteps:\n  - connect: alice\n  - answer: alice\n    as: ask\n    match: { method: BN }\n";
    let good = format!(
        "{base}    with: {{ status: 200, reply_to: ask, headers: {{ X: '${{ask.headers.I}}' }} }}\n"
    );
    let s = load_text(&good).unwrap();
    let StepKind::Answer(a) = &s.steps[1].kind else {
        panic!("{:?}", s.steps[1])
    };
    assert_eq!(a.when.source, ExpectSource::Push);
    assert_eq!(a.when.name.as_deref(), Some("ask"));
    assert_eq!(a.frame.reply_to.as_deref(), Some("ask"));

    let e = load_text(base).unwrap_err();
    assert!(e.message.contains("`answer` needs `with:`"), "{e}");
    let e = load_text(&format!("{base}    with: {{ status: 200, as: x }}\n")).unwrap_err();
    assert!(e.message.contains("beside `with:`"), "{e}");
    let e = load_text(&format!(
        "{base}    with: {{ status: 200, reply_to: asq }}\n"
    ))
    .unwrap_err();
    assert!(e.message.contains("`reply_to: asq` names no frame"), "{e}");
    let e = load_text(&good.replace("method: BN", "methd: BN")).unwrap_err();
    assert!(e.message.contains("methd"), "{e}");
    assert_eq!(e.span.line, 8, "{e}");
}
