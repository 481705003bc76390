//! The library API as a server's own `cargo test` uses it: a small MSNP24 server, written here
//! in a few dozen lines, listens on `127.0.0.1:0`, and [`Suite`] runs built-in cases against
//! it. A copy of it that answers `PNG` with the wrong TrID fails the PNG case, naming the rule.
//!
//! The server answers the login (`CNT`, `ATH`, `BND` with `Set-Registration`) and `PNG`, the
//! shape of every reply taken from the codec: `VERB TrID SCOPE LEN` with the request's TrID.
//! It is not the reference server (the harness library does not depend on it).

use imspec_codec::Status;
use imspec_codec::msnp::{self, Command};
use imspec_harness::Suite;
use imspec_harness::report::human;
use imspec_harness::runner::Verdict;
use imspec_harness::scenario::fragment;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the small server gets wrong, if anything.
#[derive(Clone, Copy, PartialEq)]
enum Bug {
    None,
    /// `PNG` is answered with the request's TrID plus one.
    PngTridOffByOne,
}

/// Starts the server on a free loopback port; returns its address.
async fn start(bug: Bug) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(session(stream, bug));
        }
    });
    addr
}

/// One connection: answers every complete command as it arrives; closes on a command the
/// codec rejects (without a trusted length the stream cannot be resynchronised).
async fn session(mut stream: TcpStream, bug: Bug) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        loop {
            let (reply, used) = match msnp::parse(&buf) {
                Ok(Status::Complete((cmd, used))) => (answer(&cmd, bug), used),
                Ok(Status::Incomplete(_)) => break,
                Err(_) => return,
            };
            buf.drain(..used);
            if stream.write_all(&reply).await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The reply to one command: outer headers, a blank line and a body, under the request's verb
/// (or `200`, invalid syntax, for a verb this server does not know), TrID and scope.
fn answer(cmd: &Command<'_>, bug: Bug) -> Vec<u8> {
    let (verb, headers, body) = match cmd.verb.as_ref() {
        "CNT" => (
            "CNT",
            "",
            "<connect-response><ver>2</ver><nonce>0</nonce></connect-response>",
        ),
        "ATH" => ("ATH", "", "<ath-response/>"),
        "BND" => ("BND", "Set-Registration: reg-1\r\n", ""),
        "PNG" => ("PNG", "", "<wait>50</wait>"),
        _ => ("200", "", "<error><code>200</code></error>"),
    };
    let mut trid = cmd.trid.unwrap_or(0);
    if verb == "PNG" && bug == Bug::PngTridOffByOne {
        trid += 1;
    }
    let payload = format!("{headers}\r\n{body}").into_bytes();
    Command::new(verb, Some(trid), Some(cmd.scope().unwrap_or("CON")))
        .with_payload(payload)
        .to_bytes()
}

/// The built-in PNG case (with the login fragment it includes) against the server; step
/// timeouts scaled by `timeout_scale` (a failing case waits one out).
async fn png_case(bug: Bug, timeout_scale: f64) -> Vec<imspec_harness::runner::CaseResult> {
    let addr = start(bug).await;
    Suite::from_dir(fragment::builtin_dir().join("msnp"))
        .unwrap()
        .target("msnp", addr)
        .only("msnp/007-png-answered")
        .timeout_scale(timeout_scale)
        .run()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_small_server_passes_the_png_case() {
    let results = png_case(Bug::None, 1.0).await;
    assert_eq!(results.len(), 1, "one case selected");
    let r = &results[0];
    assert_eq!(r.id, "msnp/007-png-answered");
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{}",
        human::failure_text(r, false)
    );
}

#[tokio::test]
async fn a_wrong_trid_fails_the_png_case_naming_its_rule() {
    let results = png_case(Bug::PngTridOffByOne, 0.2).await;
    assert_eq!(results.len(), 1, "one case selected");
    let r = &results[0];
    assert_eq!(r.verdict, Verdict::Fail);
    let text = human::failure_text(r, false);
    assert!(
        r.rules.iter().any(|rule| rule.id == "msnp.png-answered"),
        "{text}"
    );
    assert!(text.contains("rule   msnp.png-answered"), "{text}");
    let failure = r.failure.as_ref().expect("a failed case says why");
    assert_eq!(failure.action, "expect reply to ping on alice", "{text}");
    assert_eq!(
        failure.actual.as_deref(),
        Some("unpaired frames: PNG 32 CON 17")
    );
}

#[tokio::test]
async fn cases_of_services_without_a_target_are_skipped() {
    // Every built-in MSNP case has an `@gateway` twin; with only `msnp` as a target, the twin
    // is skipped rather than failed.
    let addr = start(Bug::None).await;
    let results = Suite::from_dir(fragment::builtin_dir().join("msnp"))
        .unwrap()
        .target("msnp", addr)
        .only("msnp/007-png-answered*")
        .run()
        .await
        .unwrap();
    let verdicts: Vec<(&str, Verdict)> =
        results.iter().map(|r| (r.id.as_str(), r.verdict)).collect();
    assert_eq!(
        verdicts,
        [
            ("msnp/007-png-answered", Verdict::Pass),
            ("msnp/007-png-answered@gateway", Verdict::Skip),
        ]
    );
}

#[tokio::test]
async fn an_unreachable_target_is_an_error_before_any_case_runs() {
    // Port 1 (tcpmux): privileged, and nothing listens there.
    let addr = "127.0.0.1:1";
    let err = Suite::from_dir(fragment::builtin_dir().join("msnp"))
        .unwrap()
        .target("msnp", addr)
        .run()
        .await
        .unwrap_err();
    assert!(
        matches!(err, imspec_harness::suite::Error::Unreachable { ref name, .. } if name == "msnp"),
        "{err}"
    );
}

#[test]
fn selection_errors_come_before_the_network() {
    use imspec_harness::suite::Error;
    let suite = || Suite::from_dir(fragment::builtin_dir().join("msnp")).unwrap();
    assert!(matches!(
        suite().only("no-such-case").plan(),
        Err(Error::NothingSelected)
    ));
    assert!(matches!(suite().only("[").plan(), Err(Error::Glob { .. })));
    assert!(matches!(
        suite().partition(3, 2).plan(),
        Err(Error::Partition { k: 3, n: 2 })
    ));
    assert!(matches!(
        suite().timeout_scale(0.0).plan(),
        Err(Error::TimeoutScale(_))
    ));
    assert!(matches!(
        suite().var("no_such_param", "1").plan(),
        Err(Error::UnknownParam { .. })
    ));
    assert!(matches!(
        suite().target("nosuchservice", "127.0.0.1:1").plan(),
        Err(Error::Target { .. })
    ));
    assert!(matches!(
        Suite::from_dir("no/such/dir"),
        Err(Error::Scenarios(_))
    ));
    // Partition 1/2 and 2/2 split the selection between them.
    let all = suite().plan().unwrap().cases().len();
    let first = suite().partition(1, 2).plan().unwrap().cases().len();
    let second = suite().partition(2, 2).plan().unwrap().cases().len();
    assert_eq!(first + second, all);
}
