//! Client cases (scenarios/clients/) with the built-in driver: the reference clients pass,
//! every client mutant is caught by a case naming its rule, and a broken driver fails its case
//! with its stderr.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use imspec::client::{Mutant, cli, selftest};
use imspec_harness::client::run;
use imspec_harness::runner::{RunOptions, Verdict};

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_imspec"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_cases_pass_the_reference_clients_and_catch_every_client_mutant() {
    let cases: Vec<_> = cli::load(&[], &scenarios())
        .unwrap()
        .into_iter()
        .map(Arc::new)
        .collect();
    assert!(cases.iter().all(|c| c.is_client_case()));
    let opts = RunOptions {
        timeout_scale: 0.4,
        ..RunOptions::default()
    };
    let m = selftest::selftest(cases, &exe(), &opts, 4).await;
    assert!(m.ok(), "{}", m.render());
    assert_eq!(m.mutants.len(), Mutant::ALL.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_driver_that_dies_fails_its_case_with_its_stderr() {
    let case = imspec_harness::scenario::load(
        &scenarios().join("clients/leancloud/001-acks-pushed-message.yaml"),
    )
    .unwrap();
    let opts = RunOptions {
        timeout_scale: 0.2,
        ..RunOptions::default()
    };
    let r = run::run_case(
        &case,
        &opts,
        "echo \"driver for $IMSPEC_CASE at $IMSPEC_LEANCLOUD\" >&2; exit 3",
    )
    .await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(!r.unreachable);
    let reason = r.failure.unwrap().reason;
    assert!(reason.contains("the driver closed its output"), "{reason}");
    assert!(
        reason.contains("driver for clients/leancloud/001-acks-pushed-message at 127.0.0.1:"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_driver_that_hangs_fails_its_case() {
    let case = imspec_harness::scenario::load(
        &scenarios().join("clients/leancloud/001-acks-pushed-message.yaml"),
    )
    .unwrap();
    let opts = RunOptions {
        timeout_scale: 0.05,
        ..RunOptions::default()
    };
    // Reads its ops and never answers: the case fails on the first step that waits for it.
    let r = run::run_case(
        &case,
        &opts,
        "echo '{\"event\":\"ready\"}'; exec cat >/dev/null",
    )
    .await;
    assert_eq!(r.verdict, Verdict::Fail);
    let f = r.failure.unwrap();
    assert!(
        f.reason
            .contains("the client did not connect to the service leancloud listener in time"),
        "{}",
        f.reason
    );
}

/// `imspec run` leaves client cases out (saying so when they were asked for); `imspec list`
/// marks them.
#[test]
fn client_cases_are_not_run_by_imspec_run_and_are_marked_by_list() {
    let dir = scenarios().join("clients");
    let run = std::process::Command::new(exe())
        .arg("run")
        .arg(&dir)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(stdout.contains("0 cases"), "{stdout}");
    assert!(stderr.contains("client case(s) left out"), "{stderr}");
    let list = std::process::Command::new(exe())
        .arg("list")
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    let ids: Vec<&str> = text.lines().filter(|l| l.starts_with("clients/")).collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|l| l.ends_with("[client]")), "{text}");
}

/// `client-test --html --pcap --json`: the reports hold the case's wire as `imspec run`'s do
/// (the client's connections in all three; the driver's lines, which are no socket, in JSON and
/// HTML).
#[test]
fn client_test_writes_html_pcap_and_json_with_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(exe())
        .arg("client-test")
        .arg(scenarios().join("clients/fetion/002-answers-pushed-message.yaml"))
        .args(["--driver", "builtin", "--html"])
        .arg(dir.path().join("html"))
        .arg("--pcap")
        .arg(dir.path().join("c.pcapng"))
        .arg("--json")
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pcap = std::fs::read(dir.path().join("c.pcapng")).unwrap();
    // The pushed M and the client's 200 echoing it are in the capture, byte for byte.
    let has = |needle: &[u8]| pcap.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"M 815389316 SIP-C/2.0\r\n"));
    assert!(has(b"SIP-C/2.0 200 OK\r\n"));
    let page = std::fs::read_to_string(
        dir.path()
            .join("html/cases/clients--fetion--002-answers-pushed-message.html"),
    )
    .unwrap();
    assert!(page.contains("SIP-C/2.0 200 OK"));
    let json = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    assert!(
        json.contains(r#"\"event\":\"ready\""#),
        "the driver's lines are in the JSON wire"
    );
}
