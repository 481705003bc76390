//! Fuzzing on stable `cargo test`: the harness-side targets' crash files replay, `imspec fuzz`
//! finds the planted mutant and writes a reproduction that fails against it and passes
//! against the clean server, and its hang and protocol-error oracles fire on a scripted server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::root;
use imspec::fuzz::{self, Kind, Options, targets};
use imspec_codec::{Status, msnp};
use imspec_harness::runner::{self, RunOptions, Verdict};
use imspec_harness::scenario::{self, ActorTarget};
use imspec_harness::transport::gateway::Gateway;
use imspec_harness::transport::tcp::Tcp;
use imspec_server::{Mutant, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn replay(file: &str) {
    let path = root().join("corpus").join(file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let target = name.rsplit_once('-').map(|(t, _)| t).unwrap_or_default();
    let run = targets::by_name(target).unwrap_or_else(|| panic!("{name}: no harness target"));
    run(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
}

// Why: YAML breaks lines at a lone CR; the target counted lines with `str::lines`.
#[test]
fn fuzz_scenario_load_d67d4422() {
    replay("scenario/regressions/scenario_load-d67d4422");
}

// Why: an error at the end of a one-line input sits on line 2.
#[test]
fn fuzz_scenario_load_b858cb28() {
    replay("scenario/regressions/scenario_load-b858cb28");
}

// Why: serde_yaml refuses a second document (`---`) without a location; it was reported at 0:0.
#[test]
fn fuzz_scenario_load_37df47e0() {
    replay("scenario/regressions/scenario_load-37df47e0");
    let e = scenario::load(&root().join("corpus/scenario/regressions/scenario_load-37df47e0"))
        .unwrap_err();
    assert_eq!((e.span.line, e.span.column), (4, 1), "{e:?}");
}

// Why: resynchronisation echoed an `I:` value holding a bare CR into its 400, an invalid frame.
#[test]
fn fuzz_server_fetion_755912f0() {
    replay("fetion/regressions/server_fetion-755912f0");
}

/// Every `corpus/*/regressions/<target>-<sha8>` names a fuzz target of `fuzz/Cargo.toml`, and
/// those of harness-side targets replay cleanly (the codec's corpus test replays the rest).
/// A file whose name has an extension (`unknown-groups-nested-99.bin`) is a hand-made
/// regression input, not a fuzz crash: only the codec's corpus test replays it.
#[test]
fn fuzz_regressions_name_their_target_and_replay() {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    let known: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    assert!(known.contains(&"server_fetion"), "{known:?}");
    let mut replayed = 0;
    for proto in std::fs::read_dir(root().join("corpus")).unwrap() {
        let dir = proto.unwrap().path().join("regressions");
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        for f in files {
            let path = f.unwrap().path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if name.contains('.') {
                continue;
            }
            let (target, sha) = name.rsplit_once('-').unwrap_or_default();
            assert!(
                known.contains(&target)
                    && sha.len() == 8
                    && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: expected <fuzz target>-<sha8>",
                path.display()
            );
            if let Some(run) = targets::by_name(target) {
                let data = std::fs::read(&path).unwrap();
                run(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= 4,
        "the scenario_load and server_fetion regressions were not found"
    );
}

/// The planted bug (an `I:` over 32 bytes kills the Fetion hub) is found by mutating one
/// header of a normal scenario; the written scenario fails against the mutant and passes
/// against the clean server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_finds_the_planted_crash_and_writes_a_reproduction() {
    finds_and_reproduces(
        Mutant::FetionCrashOnLongCallId,
        root().join("scenarios/fetion/002-response-echoes-i-q.yaml"),
        3,
        "header `I` value replaced",
        "fetion",
    )
    .await;
}

/// Fuzzes `scenario` against the embedded server with `mutant` until one finding, then checks
/// it: the kind, what was mutated, that it reproduced, that its scenario fails against the
/// mutant and passes against the clean server, and that its pcapng was written beside it.
async fn finds_and_reproduces(
    mutant: Mutant,
    scenario: PathBuf,
    seed: u64,
    mutated: &str,
    service: &str,
) {
    let out = tempfile::tempdir().unwrap();
    let opts = Options {
        mutant: Some(mutant),
        scenarios: vec![scenario],
        rounds: 300,
        duration: Duration::from_secs(120),
        seed,
        out: out.path().to_path_buf(),
        timeout: Duration::from_millis(400),
        max_findings: 1,
        ..Options::default()
    };
    let report = fuzz::fuzz(&opts, |_| {}).await.unwrap();
    let f = report
        .findings
        .first()
        .unwrap_or_else(|| panic!("nothing found in {} rounds", report.rounds));
    eprintln!("{}", std::fs::read_to_string(&f.path).unwrap());
    assert_eq!(f.kind, Kind::Unresponsive, "{f:?}");
    assert!(f.mutation.contains(mutated), "{f:?}");
    assert_eq!(f.reproduced, Some(true), "{f:?}");
    let pcap = std::fs::read(&f.pcap).unwrap();
    assert_eq!(
        &pcap[..4],
        b"\x0a\x0d\x0d\x0a",
        "not a pcapng: {}",
        f.pcap.display()
    );

    let case = scenario::load(&f.path).unwrap();
    assert!(
        case.actors
            .values()
            .any(|t| t == &ActorTarget::Service(service.into())),
        "{:?}",
        case.actors
    );
    for (mutant, expected) in [(Some(mutant), Verdict::Fail), (None, Verdict::Pass)] {
        let server = Server::start(ServerConfig {
            mutant,
            ..ServerConfig::local()
        })
        .await
        .unwrap();
        let services = server
            .addrs()
            .into_iter()
            .map(|(s, a)| (s.name().to_owned(), a))
            .collect();
        let opts = RunOptions {
            timeout_scale: 0.5,
            ..RunOptions::default()
        };
        let r = runner::run(&case, &opts, &Gateway::wrap(Tcp::new(services))).await;
        server.shutdown().await;
        assert_eq!(r.verdict, expected, "{mutant:?}: {:?}", r.failure);
    }
}

/// The planted LeanCloud bug (a `peerId` over 32 bytes kills the hub) is found by mutating a
/// field of the command inside a WebSocket message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_finds_a_planted_leancloud_crash_inside_websocket_messages() {
    finds_and_reproduces(
        Mutant::LcCrashOnLongPeerId,
        root().join("scenarios/leancloud/001-session-open.yaml"),
        5,
        "field `peerId` value replaced",
        "leancloud",
    )
    .await;
}

/// The planted gateway bug (a body that is not whole MSNP commands wedges the gateway) is
/// found by mutating the MSNP carried in a gateway request's body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_finds_a_planted_gateway_bug_inside_http_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("gateway-png.yaml");
    std::fs::write(
        &case,
        "title: CNT and PNG over the gateway\nprotocol: msnp\nactors:\n  a: msnp-gateway\nsteps:\n  - connect: a\n  - send: a\n    verb: CNT\n    target: CON\n    body: <connect><ver>2</ver></connect>\n  - expect: a\n  - send: a\n    verb: PNG\n    target: CON\n  - expect: a\n",
    )
    .unwrap();
    finds_and_reproduces(
        Mutant::GatewayWedgeOnBadBody,
        case,
        7,
        "message ",
        "msnp-gateway",
    )
    .await;
}

/// A loopback server that hands each connection's buffer to `answer` after every read:
/// `answer` takes off what it consumed and returns the bytes to write and whether to close.
async fn scripted(
    answer: impl Fn(&mut Vec<u8>) -> (Vec<u8>, bool) + Copy + Send + 'static,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let (out, close) = answer(&mut buf);
                    if (!out.is_empty() && s.write_all(&out).await.is_err()) || close {
                        return;
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    addr
}

/// A scripted MSNP server: answers `CNT`, an empty `PNG` and the scenario's `PNG` with body
/// `hello`; answers a command whose target is not `CON` with a frame the codec rejects; says
/// nothing to anything else.
async fn scripted_server() -> SocketAddr {
    scripted(|buf| {
        let mut out = Vec::new();
        loop {
            let (reply, n) = match msnp::parse(buf) {
                Ok(Status::Complete((cmd, n))) => {
                    let trid = cmd.trid.unwrap_or(0);
                    let reply = if cmd.target.as_deref() != Some("CON") {
                        b"pNG 1 CON 0\r\n".to_vec()
                    } else if cmd.verb == "CNT"
                        || cmd.payload.is_empty()
                        || &cmd.payload[..] == b"\r\nhello"
                    {
                        format!("{} {trid} CON 0\r\n", cmd.verb).into_bytes()
                    } else {
                        Vec::new()
                    };
                    (reply, n)
                }
                Ok(Status::Incomplete(_)) => return (out, false),
                Err(_) => return (out, true),
            };
            buf.drain(..n);
            out.extend(reply);
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_reports_hangs_and_protocol_errors() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("png.yaml");
    std::fs::write(
        &case,
        "title: a PNG with a body\nprotocol: msnp\nactors:\n  a: msnp\nsteps:\n  - connect: a\n  - send: a\n    verb: PNG\n    target: CON\n    body: hello\n  - expect: a\n",
    )
    .unwrap();
    let addr = scripted_server().await;
    let opts = Options {
        targets: BTreeMap::from([("msnp".to_owned(), addr)]),
        scenarios: vec![case],
        rounds: 40,
        duration: Duration::from_secs(120),
        seed: 4,
        out: dir.path().join("findings"),
        timeout: Duration::from_millis(200),
        max_findings: 8,
        ..Options::default()
    };
    let report = fuzz::fuzz(&opts, |_| {}).await.unwrap();
    let kinds: Vec<Kind> = report.findings.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&Kind::Hang), "{report:#?}");
    assert!(kinds.contains(&Kind::ProtocolError), "{report:#?}");
    for f in &report.findings {
        assert_eq!(f.reproduced, Some(true), "{f:?}");
    }
}

/// A scripted SIP server that answers every request head with a `400` copying its `Via`,
/// `From`, `To`, `Call-ID` and `CSeq` lines byte for byte, as Kamailio does for a request it
/// cannot take (RFC 3261 §8.2.6.2); with `own_garbage` it also writes a line of its own that
/// has no colon (except to the fuzzer's liveness probe).
async fn echoing_sip_server(own_garbage: bool) -> SocketAddr {
    scripted(move |buf| {
        let mut out = Vec::new();
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            out.extend_from_slice(b"SIP/2.0 400 Bad Request\r\n");
            for line in buf[..end].split(|&b| b == b'\n').skip(1) {
                let name = line.split(|&b| b == b':').next().unwrap_or_default();
                let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
                if ["via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"]
                    .contains(&name.as_str())
                {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
            }
            // The liveness probe gets a clean answer, so the run goes on.
            let probe = buf[..end].windows(12).any(|w| w == b"imspec-probe");
            if own_garbage && !probe {
                out.extend_from_slice(b"Broken line without a colon\r\n");
            }
            out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            buf.drain(..end + 4);
        }
        (out, false)
    })
    .await
}

async fn fuzz_sip_against(addr: SocketAddr, dir: &Path) -> fuzz::Report {
    let case = dir.join("options.yaml");
    std::fs::write(
        &case,
        "title: OPTIONS is answered\nprotocol: sip\nactors:\n  a: sip\nsteps:\n  - connect: a\n  - send: a\n    method: OPTIONS\n    target: sip:x@imspec.invalid\n  - expect: a\n",
    )
    .unwrap();
    let opts = Options {
        targets: BTreeMap::from([("sip".to_owned(), addr)]),
        scenarios: vec![case],
        rounds: 150,
        duration: Duration::from_secs(120),
        seed: 7,
        out: dir.join("findings"),
        timeout: Duration::from_millis(200),
        max_findings: 4,
        ..Options::default()
    };
    fuzz::fuzz(&opts, |_| {}).await.unwrap()
}

// issue 14 item 6: Kamailio's 400s copying a bit-flipped Via were reported as its own errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_an_echoed_mangled_request_is_no_finding_a_malformed_reply_is() {
    let dir = tempfile::tempdir().unwrap();
    let report = fuzz_sip_against(echoing_sip_server(false).await, dir.path()).await;
    assert!(
        report.echoes > 0,
        "no round made the server echo bad bytes: {report:#?}"
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.kind != Kind::ProtocolError),
        "{report:#?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let report = fuzz_sip_against(echoing_sip_server(true).await, dir.path()).await;
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == Kind::ProtocolError && f.reproduced == Some(true)),
        "{report:#?}"
    );
}
