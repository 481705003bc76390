//! The `imspec` command line as a script uses it: `new`, `--var`, `--trace`/`-vv`, `--chop`,
//! `--color`, `decode` for every codec protocol, `list | head`, and exit 2 on a typo. Runs
//! the built binary against the embedded server (loopback, port 0).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::common::{imspec, lossy as text, root};

#[test]
fn cli_new_writes_a_case_that_passes_for_every_protocol() {
    let dir = tempfile::tempdir().unwrap();
    for p in ["fetion", "leancloud", "msnp", "sip"] {
        // The skeleton includes the protocol's login fragment: give it one beside the case.
        let frags = dir.path().join(p).join("fragments");
        std::fs::create_dir_all(&frags).unwrap();
        for f in std::fs::read_dir(root().join("scenarios").join(p).join("fragments")).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, frags.join(f.file_name().unwrap())).unwrap();
        }
        let dir_arg = dir.path().to_str().unwrap();
        let out = imspec(&["new", p, "first-case", "--dir", dir_arg]);
        assert!(out.status.success(), "{p}: {}", text(&out.stderr));
        let path = text(&out.stdout).trim().to_owned();
        assert!(
            path.ends_with(&format!("{p}/001-first-case.yaml")),
            "{path}"
        );
        let again = imspec(&["new", p, "first-case", "--dir", dir_arg]);
        assert!(text(&again.stdout).trim().ends_with("002-first-case.yaml"));
        std::fs::remove_file(text(&again.stdout).trim()).unwrap();
        let run = imspec(&["run", &path]);
        assert_eq!(run.status.code(), Some(0), "{p}: {}", text(&run.stdout));
    }
    assert_eq!(imspec(&["new", "xmpp", "a"]).status.code(), Some(2));
    assert_eq!(imspec(&["new", "sip", "Bad Name"]).status.code(), Some(2));
}

#[test]
fn cli_chop_reports_a_twin_beside_each_case_with_a_parity_line() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = imspec(&[
        "run",
        "scenarios/fetion/002-response-echoes-i-q.yaml",
        "--chop",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout)
            .contains("chop parity: 1 cases plain and chopped, 1 with the same verdict, 0 differ")
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let ids: Vec<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "fetion/002-response-echoes-i-q",
            "fetion/002-response-echoes-i-q@chop"
        ]
    );
}

#[test]
fn cli_color_var_trace_and_typo_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("fetion").join("001-x.yaml");
    std::fs::create_dir_all(case.parent().unwrap()).unwrap();
    // Without credentials the reference server answers 401.
    let good = "title: t\nprotocol: fetion\nparams: { want: \"500\" }\nactors: { a: fetion }\nsteps:\n  - connect: a\n  - send: a\n    method: S\n    headers: { N: KeepAlive }\n  - expect: a\n    match:\n      status: ${want}\n";
    std::fs::write(&case, good).unwrap();
    let path = case.to_str().unwrap();
    let always = imspec(&["run", path, "--color", "always"]);
    assert_eq!(always.status.code(), Some(1));
    assert!(text(&always.stdout).contains("\x1b[31m"));
    let never = imspec(&["run", path, "--color", "never"]);
    assert!(!text(&never.stdout).contains('\x1b'));
    assert!(text(&never.stdout).contains("status: expected 500, got 401"));
    // --var overrides the param; --trace and -vv print the passing case's wire log.
    for trace in ["--trace", "-vv"] {
        let out = imspec(&["run", path, "--var", "want=401", trace]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("PASS       fetion/001-x"), "{stdout}");
        assert!(stdout.contains("-> S fetion.com.cn SIP-C/2.0"), "{stdout}");
    }
    let unknown = imspec(&["run", path, "--var", "nope=1"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("no case to run has a param `nope`"));
    std::fs::write(&case, good.replace("status: ${want}", "stauts: ${want}")).unwrap();
    let typo = imspec(&["run", path]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        text(&typo.stderr).contains("001-x.yaml:12:7: unknown field `stauts`"),
        "{}",
        text(&typo.stderr)
    );
}

#[test]
fn cli_list_into_a_closed_pipe_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .arg("list")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before `list` has loaded the scenarios, so its first write meets a closed pipe
    // (reading some first could let the whole listing fit in the pipe's buffer).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn cli_decode_reads_every_codec_protocol_and_lenient() {
    let corpus = root().join("corpus");
    let first = |dir: &str| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.remove(0)
    };
    for codec in imspec_codec::CODECS {
        let proto = codec.name();
        let f = first(&format!("{proto}/valid"));
        // LeanCloud's text frames are `.b64` files; every other file is read as it is.
        let framing = if f.extension().is_some_and(|e| e == "b64") {
            "base64"
        } else {
            "binary"
        };
        let out = imspec(&[
            "decode",
            "--protocol",
            proto,
            "--framing",
            framing,
            f.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{proto}: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("{\""), "{proto}");
    }
    for (proto, file) in [
        ("sip", first("sip/lenient")),
        (
            "leancloud",
            corpus.join("leancloud/lenient/error-without-code.bin"),
        ),
    ] {
        let strict = imspec(&["decode", "--protocol", proto, file.to_str().unwrap()]);
        assert_eq!(strict.status.code(), Some(1), "{proto}");
        let ok = imspec(&[
            "decode",
            "--protocol",
            proto,
            "--lenient",
            file.to_str().unwrap(),
        ]);
        assert_eq!(ok.status.code(), Some(0), "{proto}: {}", text(&ok.stderr));
    }
    let unknown = imspec(&["decode", "--protocol", "xmpp", "-"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn cli_help_names_the_five_protocol_families() {
    let help = text(&imspec(&["--help"]).stdout);
    for family in ["MSNP", "LeanCloud", "SIP offline", "MSRP", "Fetion"] {
        assert!(help.contains(family), "{family}: {help}");
    }
}

#[test]
fn cli_a_failing_any_order_item_names_its_place_and_note() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("fetion").join("001-x.yaml");
    std::fs::create_dir_all(case.parent().unwrap()).unwrap();
    // Without credentials the reference server answers 401.
    let yaml = "title: t\nprotocol: fetion\nactors: { a: fetion, b: fetion }\nsteps:\n  - connect: a\n  - connect: b\n  - send: a\n    method: S\n    headers: { N: KeepAlive }\n  - send: b\n    method: S\n    headers: { N: KeepAlive }\n  - expect_any_order:\n      - expect: b\n      - expect: a\n        match: { status: 500 }\n        note: a is refused\n";
    std::fs::write(&case, yaml).unwrap();
    let out = imspec(&["run", case.to_str().unwrap(), "--color", "never"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("status: expected 500, got 401 (the item at "),
        "{stdout}"
    );
    assert!(
        stdout.contains("001-x.yaml:15:7; note: a is refused)"),
        "{stdout}"
    );
}
