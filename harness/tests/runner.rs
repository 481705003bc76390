//! The runner against tiny scripted servers in process (in-memory duplex, no sockets).

use std::path::Path;
use std::sync::Arc;

use imspec_codec::{Status, msnp, sipc};
use imspec_harness::runner::{self, RunOptions, Verdict};
use imspec_harness::scenario;
use imspec_harness::transport::mem::Mem;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

type Handler = fn(DuplexStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

fn case(proto: &str, yaml: &str) -> scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/scenarios/{proto}/900-test.yaml"));
    let text = format!("title: test\nprotocol: {proto}\n{yaml}");
    scenario::load_str(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

async fn run_with(s: &scenario::Scenario, handler: Handler, scale: f64) -> runner::CaseResult {
    let mem = Mem::new(move |_, stream| {
        tokio::spawn(handler(stream));
        Ok(())
    });
    let opts = RunOptions {
        timeout_scale: scale,
        ..RunOptions::default()
    };
    runner::run(s, &opts, &mem).await
}

/// Reads one SIP-C message (None at EOF).
async fn read_sipc(s: &mut DuplexStream, buf: &mut Vec<u8>) -> Option<(String, String, String)> {
    loop {
        if let Ok(Status::Complete((m, n))) = sipc::parse(buf) {
            let out = (
                m.method()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                m.header("I").unwrap_or("").to_owned(),
                m.header("Q").unwrap_or("").to_owned(),
            );
            buf.drain(..n);
            return Some(out);
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads one MSNP command: (verb, trid).
async fn read_msnp(s: &mut DuplexStream, buf: &mut Vec<u8>) -> Option<(String, u32)> {
    loop {
        if let Ok(Status::Complete((c, n))) = msnp::parse(buf) {
            let out = (c.verb.to_string(), c.trid.unwrap_or(0));
            buf.drain(..n);
            return Some(out);
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn ok(i: &str, q: &str, extra: &str) -> Vec<u8> {
    format!("SIP-C/2.0 200 OK\r\nI: {i}\r\nQ: {q}\r\n{extra}\r\n").into_bytes()
}

const FETION_ACTOR: &str = "actors: { alice: fetion }\n";

fn fail_reason(r: &runner::CaseResult) -> String {
    r.failure
        .as_ref()
        .map(|f| f.reason.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn replies_pair_by_i_and_q_when_interleaved_and_pushes_queue_apart() {
    // Answers the two requests in reverse order, with a BN push in between.
    fn server(
        mut s: DuplexStream,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            let mut buf = Vec::new();
            let a = read_sipc(&mut s, &mut buf).await.unwrap();
            let b = read_sipc(&mut s, &mut buf).await.unwrap();
            let mut out = ok(&b.1, &b.2, "X: 2\r\n");
            out.extend_from_slice(
                b"BN 1 SIP-C/2.0\r\nI: -3\r\nQ: 2 BN\r\nN: Conversation\r\nL: 5\r\n\r\nhello",
            );
            out.extend(ok(&a.1, &a.2, "X: 1\r\n"));
            s.write_all(&out).await.unwrap();
            while read_sipc(&mut s, &mut buf).await.is_some() {}
        })
    }
    let s = case(
        "fetion",
        &format!(
            "{FETION_ACTOR}steps:
  - connect: alice
  - send: alice
    as: first
    method: S
    headers: {{ N: One }}
  - send: alice
    method: S
    headers: {{ N: Two }}
  - expect: alice
    match: {{ status: 200, headers.X: '1', headers.I: '${{first.headers.I}}' }}
  - expect: alice
    match: {{ headers.X: {{ eq: 2 }} }}
    capture: {{ second_i: {{ field: headers.I }} }}
  - expect: alice
    push: true
    match: {{ method: BN, body: hello, headers.L: {{ utf8_len_of: body }} }}
  - assert: {{ second_i: '2' }}
"
        ),
    );
    let r = run_with(&s, server, 1.0).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
    assert!(r.wire.len() >= 5);
}

fn echo_msnp(
    mut s: DuplexStream,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    // Answers every command with the same verb and TrID and the page document below.
    Box::pin(async move {
        let mut buf = Vec::new();
        while let Some((verb, trid)) = read_msnp(&mut s, &mut buf).await {
            let body = if verb == "GET" {
                "\r\n<r><id>7</id><hasmore>True</hasmore></r>"
            } else {
                ""
            };
            let target = "CON";
            let out = format!("{verb} {trid} {target} {}\r\n{body}", body.len());
            if s.write_all(out.as_bytes()).await.is_err() {
                return;
            }
        }
    })
}

#[tokio::test]
async fn repeat_until_is_bounded_by_max_and_captures_append() {
    let s = case(
        "msnp",
        "actors: { a: msnp }
steps:
  - connect: a
  - repeat:
      max: 3
      until: { var: more, iequals: 'false' }
      steps:
        - send: a
          verb: GET
          target: MSGR
          body: <q/>
        - expect: a
          xml: { r/id: { eq: 7 } }
          capture:
            more: { xml: r/hasmore }
            ids: { xml: r/id, all: true, append: true }
  - assert: { ids: { count: 3 } }
",
    );
    let r = run_with(&s, echo_msnp, 1.0).await;
    assert_eq!(r.verdict, Verdict::Fail);
    let f = r.failure.unwrap();
    assert!(
        f.reason.contains("still false after `max: 3` iterations"),
        "{}",
        f.reason
    );
    assert_eq!(f.step, "2");
}

#[tokio::test]
async fn barrier_round_trip_and_expect_no_push() {
    fn server(
        mut s: DuplexStream,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        // Sends an unsolicited NFY before answering the PNG.
        Box::pin(async move {
            let mut buf = Vec::new();
            while let Some((verb, trid)) = read_msnp(&mut s, &mut buf).await {
                let mut out = Vec::new();
                if verb == "PNG" {
                    out.extend_from_slice(b"NFY 0 MSGR\\PUT 0\r\n");
                }
                out.extend_from_slice(format!("{verb} {trid} CON 0\r\n").as_bytes());
                if s.write_all(&out).await.is_err() {
                    return;
                }
            }
        })
    }
    let ok_case = case(
        "msnp",
        "actors: { a: msnp }\nsteps:\n  - connect: a\n  - barrier: a\n  - expect: a\n    push: true\n    match: { verb: NFY }\n",
    );
    let r = run_with(&ok_case, server, 1.0).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
    let no_push = case(
        "msnp",
        "actors: { a: msnp }\nsteps:\n  - connect: a\n  - expect_no_push: a\n",
    );
    let r = run_with(&no_push, server, 1.0).await;
    assert_eq!(r.verdict, Verdict::Fail);
    let f = r.failure.unwrap();
    assert!(f.reason.contains("1 unexpected frame(s)"), "{}", f.reason);
    assert_eq!(f.actual.as_deref(), Some("NFY 0 MSGR\\\\PUT 0"));
}

fn silent(mut s: DuplexStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async move {
        let mut buf = Vec::new();
        while read_sipc(&mut s, &mut buf).await.is_some() {}
    })
}

#[tokio::test]
async fn silence_times_out_with_the_step_location() {
    let s = case(
        "fetion",
        &format!(
            "{FETION_ACTOR}steps:\n  - connect: alice\n  - send: alice\n    method: R\n  - expect: alice\n    timeout_ms: 1000\n"
        ),
    );
    let started = std::time::Instant::now();
    let r = run_with(&s, silent, 0.1).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(r.verdict, Verdict::Fail);
    let f = r.failure.unwrap();
    assert!(
        f.reason.contains("no reply to `I: 1 | Q: 1 R`"),
        "{}",
        f.reason
    );
    assert!(f.location.ends_with("900-test.yaml:8:3"), "{}", f.location);
    assert_eq!(f.actual.as_deref(), Some("nothing arrived"));
}

#[tokio::test]
async fn a_short_timeout_after_a_long_one_fires_on_time() {
    // Why: the runner keeps one timer per case and moves it to each wait's deadline; a
    // deadline earlier than the one before must still fire (the server answers the first
    // request, then closes after 3 s: a late timer would see the close instead).
    fn server(s: DuplexStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        reply_bytes(b"SIP-C/2.0 200 OK\r\nI: 1\r\nQ: 1 R\r\n\r\n")(s)
    }
    let s = case(
        "fetion",
        &format!(
            "{FETION_ACTOR}steps:\n  - connect: alice\n  - send: alice\n    method: R\n  - expect: alice\n    timeout_ms: 60000\n  - send: alice\n    method: R\n  - expect: alice\n    timeout_ms: 100\n"
        ),
    );
    let r = run_with(&s, server, 1.0).await;
    assert_eq!(r.verdict, Verdict::Fail);
    let f = r.failure.unwrap();
    assert!(
        f.reason.contains("no reply to `I: 2 | Q: 1 R`"),
        "{}",
        f.reason
    );
    assert!(f.location.ends_with("900-test.yaml:12:3"), "{}", f.location);
}

fn reply_bytes(
    bytes: &'static [u8],
) -> impl Fn(DuplexStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    move |mut s| {
        Box::pin(async move {
            let mut buf = Vec::new();
            if read_sipc(&mut s, &mut buf).await.is_some() {
                let _ = s.write_all(bytes).await;
            }
            // Keep the connection open for a while: the framer must fail on its own.
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        })
    }
}

async fn one_request(handler: Handler) -> runner::CaseResult {
    let s = case(
        "fetion",
        &format!(
            "{FETION_ACTOR}steps:\n  - connect: alice\n  - send: alice\n    method: R\n  - expect: alice\n"
        ),
    );
    run_with(&s, handler, 1.0).await
}

#[tokio::test]
async fn garbage_fails_with_the_byte_offset() {
    fn server(s: DuplexStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        reply_bytes(b"SIP-C/2.0 200 OK\r\nI: 9\r\nQ: 1 Z\r\n\r\nSIP-C/2.0 2x0 OK\r\n\r\n")(s)
    }
    let r = one_request(server).await;
    assert_eq!(r.verdict, Verdict::Fail);
    let reason = fail_reason(&r);
    assert!(
        reason.contains("byte 44: expected a three-digit status code"),
        "{reason}"
    );
    assert!(reason.contains("starting at byte 34"), "{reason}");
}

#[tokio::test]
async fn huge_length_fails_at_once() {
    fn server(s: DuplexStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        reply_bytes(b"SIP-C/2.0 200 OK\r\nI: 1\r\nQ: 1 R\r\nL: 99999999999\r\n\r\n")(s)
    }
    let started = std::time::Instant::now();
    let r = one_request(server).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        fail_reason(&r).contains("limit exceeded"),
        "{}",
        fail_reason(&r)
    );
}

#[tokio::test]
async fn never_ending_frame_fails_within_the_timeout() {
    fn server(
        mut s: DuplexStream,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            let mut buf = Vec::new();
            let _ = read_sipc(&mut s, &mut buf).await;
            let _ = s.write_all(b"SIP-C/2.0 200 OK\r\n").await;
            let line = [b'X'; 1024];
            loop {
                if s.write_all(b"X: ").await.is_err()
                    || s.write_all(&line).await.is_err()
                    || s.write_all(b"\r\n").await.is_err()
                {
                    return;
                }
            }
        })
    }
    let r = one_request(server).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        fail_reason(&r).contains("limit exceeded"),
        "{}",
        fail_reason(&r)
    );
}

#[tokio::test]
async fn closed_socket_fails_the_case() {
    fn server(
        mut s: DuplexStream,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            let mut buf = Vec::new();
            let _ = read_sipc(&mut s, &mut buf).await;
            let _ = s.write_all(b"SIP-C/2.0 200 OK\r\nI: 1\r\n").await;
            let _ = s.shutdown().await;
        })
    }
    let r = one_request(server).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        fail_reason(&r).contains("connection closed inside a frame"),
        "{}",
        fail_reason(&r)
    );
}

#[tokio::test]
async fn chop_splits_and_coalesces_without_changing_the_outcome() {
    let s = case(
        "fetion",
        &format!(
            "{FETION_ACTOR}steps:\n  - connect: alice\n  - send: alice\n    method: S\n    body: héllo wörld\n  - send: alice\n    method: S\n  - expect: alice\n  - expect: alice\n"
        ),
    );
    fn server(
        mut s: DuplexStream,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            let mut buf = Vec::new();
            while let Some((_, i, q)) = read_sipc(&mut s, &mut buf).await {
                if s.write_all(&ok(&i, &q, "")).await.is_err() {
                    return;
                }
            }
        })
    }
    let mem = Mem::new(|_, stream| {
        tokio::spawn(server(stream));
        Ok(())
    });
    let opts = RunOptions {
        chop: true,
        ..RunOptions::default()
    };
    let r = runner::run(&s, &opts, &mem).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
}

#[tokio::test]
async fn non_strict_skip_and_baseline_verdicts() {
    let should = case(
        "fetion",
        &format!(
            "rules:\n  - {{ id: r, text: t, source: s, evidence: high, level: should }}\n{FETION_ACTOR}steps:\n  - connect: alice\n  - send: alice\n    method: R\n  - expect: alice\n    timeout_ms: 50\n"
        ),
    );
    assert_eq!(
        run_with(&should, silent, 1.0).await.verdict,
        Verdict::NonStrict
    );
    let needs = case(
        "fetion",
        &format!("requires: [fetion.chat]\n{FETION_ACTOR}steps: []\n"),
    );
    let profile = runner::Profile {
        capabilities: Some(vec![]),
        baseline: vec!["fetion/9*".into()],
        ..runner::Profile::default()
    };
    let mem = Mem::new(|_, stream| {
        tokio::spawn(silent(stream));
        Ok(())
    });
    let opts = RunOptions {
        profile: Arc::new(profile),
        ..RunOptions::default()
    };
    assert_eq!(
        runner::run(&needs, &opts, &mem).await.verdict,
        Verdict::Skip
    );
    let passes = case(
        "fetion",
        &format!("{FETION_ACTOR}steps:\n  - connect: alice\n"),
    );
    assert_eq!(passes.id, "fetion/900-test");
    assert_eq!(
        runner::run(&passes, &opts, &mem).await.verdict,
        Verdict::Xpass
    );
}

/// A Fetion target that does not claim `fetion.keepalive` gets quiet barriers: a server that
/// never answers `S KeepAlive` fails a round-trip barrier, not a quiet one.
#[tokio::test]
async fn fetion_barrier_is_quiet_without_keepalive() {
    let s = case(
        "fetion",
        &format!(
            "{FETION_ACTOR}steps:\n  - connect: alice\n  - barrier: alice\n    timeout_ms: 200\n"
        ),
    );
    assert_eq!(run_with(&s, silent, 1.0).await.verdict, Verdict::Fail);
    let mem = Mem::new(|_, stream| {
        tokio::spawn(silent(stream));
        Ok(())
    });
    let opts = RunOptions {
        profile: Arc::new(runner::Profile {
            capabilities: Some(vec!["fetion.chat".into()]),
            quiet_ms: Some(10),
            ..runner::Profile::default()
        }),
        ..RunOptions::default()
    };
    let r = runner::run(&s, &opts, &mem).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
}

/// Pushes a `BN` after the first request and answers that request (`X: 1`) only once both
/// `BN`s (the second after an `M` push) were answered with I and Q echoed; `X: 0` otherwise.
fn asks_twice(
    mut s: DuplexStream,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async move {
        let mut buf = Vec::new();
        let Some(req) = read_sipc(&mut s, &mut buf).await else {
            return;
        };
        let bn = |i: i32| {
            format!("BN 1 SIP-C/2.0\r\nI: {i}\r\nQ: 7 BN\r\nN: Ask\r\nL: 2\r\n\r\n{i}").into_bytes()
        };
        let mut answered = 0;
        for (i, extra) in [
            (-5, &b""[..]),
            (-6, &b"M 1 SIP-C/2.0\r\nI: -7\r\nQ: 1 M\r\n\r\n"[..]),
        ] {
            let mut out = extra.to_vec();
            out.extend(bn(i));
            if s.write_all(&out).await.is_err() {
                return;
            }
            match read_sipc(&mut s, &mut buf).await {
                Some((method, ii, q))
                    if method.is_empty() && ii == i.to_string() && q == "7 BN" =>
                {
                    answered += 1;
                }
                _ => break,
            }
        }
        let x = if answered == 2 {
            "X: 1\r\n"
        } else {
            "X: 0\r\n"
        };
        let _ = s.write_all(&ok(&req.1, &req.2, x)).await;
        // Later requests (the barrier's KeepAlive) get a plain 200.
        while let Some((_, i, q)) = read_sipc(&mut s, &mut buf).await {
            if s.write_all(&ok(&i, &q, "")).await.is_err() {
                return;
            }
        }
    })
}

#[tokio::test]
async fn answer_takes_every_matching_push_and_answers_it_others_stay_queued() {
    // Why (issue 17): a real client *may* ask something (the LeanCloud SDK's conv/query) and
    // waits for the answer before it goes on; a case must answer it whenever it comes.
    let s = case(
        "fetion",
        &format!(
            "{FETION_ACTOR}steps:
  - connect: alice
  - answer: alice
    as: ask
    match: {{ method: BN, body: {{ regex: '^-' }} }}
    with: {{ status: 200, reply_to: ask, headers: {{ X-Asked: '${{ask.body}}' }} }}
  - send: alice
    method: S
    headers: {{ N: One }}
  - expect: alice
    match: {{ status: 200, headers.X: '1' }}
  - expect: alice
    push: true
    match: {{ method: M }}
  - expect_no_push: alice
"
        ),
    );
    let r = run_with(&s, asks_twice, 1.0).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
    let answers: Vec<&str> = r
        .wire
        .iter()
        .filter(|e| e.dir == runner::Direction::SEND && e.text.starts_with("SIP-C/2.0 200"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(answers[1].contains("X-Asked: -6"), "{}", answers[1]);

    // Without the answer the server never replies X: 1, and the BN stays queued.
    let unanswered = case(
        "fetion",
        &format!(
            "{FETION_ACTOR}steps:
  - connect: alice
  - send: alice
    method: S
    headers: {{ N: One }}
  - expect: alice
    match: {{ status: 200, headers.X: '1' }}
"
        ),
    );
    let r = run_with(&unanswered, asks_twice, 0.1).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(fail_reason(&r).contains("no reply"), "{}", fail_reason(&r));
}
