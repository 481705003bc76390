//! Report snapshots: the console failure text, the JSON object and the JUnit XML of fixed results.

use imspec_harness::report::{human, json, junit};
use imspec_harness::runner::{CaseResult, Direction, Failure, Verdict, WireEntry};
use imspec_harness::scenario::{Evidence, Level, Rule};

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
            source: "docs/protocols/fetion.md §9.1; seed 004".into(),
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
                dir: Direction::SEND,
                text:
                    "S fetion.com.cn SIP-C/2.0\\r\\nN: StartChat\\r\\nI: 1\\r\\nQ: 1 S\\r\\n\\r\\n"
                        .into(),
                ..WireEntry::default()
            },
            WireEntry {
                t_ms: 3.125,
                actor: "alice".into(),
                dir: Direction::RECV,
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
        runs: Default::default(),
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

/// A run over loopback with `capture`: frames carry their bytes and connection, the TCP, the
/// gateway's HTTP and LeanCloud's WebSocket connections are recorded, and the pcap's frame
/// counts follow the wire log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_records_tcp_gateway_and_websocket_connections() {
    use std::sync::Arc;

    use imspec_harness::report::pcap;
    use imspec_harness::runner::{self, Direction, RunOptions};
    use imspec_harness::transport::Connector;
    use imspec_harness::transport::gateway::{self, Gateway};
    use imspec_harness::transport::tap::Tap;
    use imspec_harness::transport::tcp::Tcp;
    use imspec_server::{Server, ServerConfig};

    let server = Server::start(ServerConfig::local()).await.unwrap();
    let targets = server
        .addrs()
        .into_iter()
        .map(|(s, a)| (s.name().to_owned(), a))
        .collect();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/");
    let cases: Vec<_> = [
        "msnp/007-png-answered.yaml",
        "leancloud/001-session-open.yaml",
    ]
    .iter()
    .map(|f| imspec_harness::scenario::load(std::path::Path::new(&format!("{root}{f}"))).unwrap())
    .collect();
    let cases = imspec_harness::runner::with_twins(cases, true, true);
    assert_eq!(cases.len(), 3);
    let tcp: Arc<dyn Connector> = Arc::new(Tap::new(Arc::new(Tcp::new(targets))));
    let connector: Arc<dyn Connector> = Arc::new(Gateway::new(tcp, gateway::Options::default()));
    let opts = RunOptions {
        capture: true,
        ..RunOptions::default()
    };
    let results = runner::run_all(
        cases.into_iter().map(Arc::new).collect(),
        &opts,
        connector,
        3,
        |_, _, _| {},
    )
    .await;
    server.shutdown().await;
    for r in &results {
        assert_eq!(r.verdict, imspec_harness::runner::Verdict::Pass, "{}", r.id);
        assert!(r.started_us > 0 && !r.actors.is_empty());
        let protocols: Vec<&str> = r.connections.iter().map(|c| c.protocol.as_str()).collect();
        let frames = r.wire.iter().filter(|w| w.dir != Direction::Event);
        match r.id.as_str() {
            id if id.ends_with("@gateway") => {
                assert!(protocols.iter().all(|p| *p == "http"), "{protocols:?}");
                assert!(protocols.len() >= 2, "an open and a poll at least");
                assert!(frames.clone().all(|w| w.conn.is_none() && w.raw.is_some()));
            }
            id => {
                let want = if id.starts_with("leancloud") {
                    "websocket"
                } else {
                    "msnp"
                };
                assert!(protocols.iter().all(|p| *p == want), "{id}: {protocols:?}");
                assert!(frames.clone().all(|w| w.conn.is_some() && w.raw.is_some()));
                // What the actor wrote is what the connection carried (not WebSocket: framed).
                if want == "msnp" {
                    let written: Vec<u8> = r.connections[0]
                        .chunks
                        .iter()
                        .filter(|k| k.way == imspec_harness::runner::Way::Send)
                        .flat_map(|k| k.raw.clone())
                        .collect();
                    let sent: Vec<u8> = frames
                        .filter(|w| w.dir == Direction::SEND)
                        .flat_map(|w| w.raw.as_deref().unwrap_or_default().to_vec())
                        .collect();
                    assert_eq!(written, sent);
                }
            }
        }
        assert!(r.wire.iter().any(|w| w.event.as_deref() == Some("connect")));
    }
    let counts = pcap::frame_counts(&results);
    assert!(
        counts["msnp"] > 0 && counts["websocket"] > 0 && counts["http"] > 0,
        "{counts:?}"
    );
    // Every pcap packet parses as a pcapng block: the file starts with its section header.
    assert!(pcap::render(&results).starts_with(&0x0A0D_0D0Au32.to_le_bytes()));
}
