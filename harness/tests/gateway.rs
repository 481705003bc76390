//! The MSNP HTTP gateway: the reference endpoint over loopback (port 0), every MSNP case and
//! every gateway case through the gateway transport in memory, and the transport against a
//! scripted gateway (in memory, hyper on both sides). Polls use short Lifespans; nothing
//! here measures time.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use imspec_codec::{Status, msnp};
use imspec_harness::runner::{self, RunOptions, Verdict};
use imspec_harness::scenario;
use imspec_harness::transport::gateway::{self, Gateway, HttpRequest, HttpResponse, Open, Options};
use imspec_harness::transport::mem::Mem;
use imspec_harness::transport::{BoxStream, Connector, Endpoint};
use imspec_server::gateway::Query;
use imspec_server::{Server, ServerConfig, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn post(target: &str, body: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        target: format!("{}{target}", gateway::PATH),
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
}

async fn exchange(addr: SocketAddr, req: &HttpRequest) -> HttpResponse {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    gateway::exchange(Box::new(tcp) as BoxStream, req, &addr.to_string())
        .await
        .unwrap()
}

fn sid(r: &HttpResponse) -> String {
    r.messenger()
        .into_iter()
        .find(|(k, _)| k == "SessionID")
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no SessionID in {r:?}"))
}

/// The endpoint alone (`imspec serve --gateway`), over loopback: the seed's headers, the
/// answer to the commands, an empty poll after its Lifespan, early return, unknown sessions,
/// a second poll, close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_endpoint_over_loopback() {
    let server = Server::start(ServerConfig {
        fetion: None,
        msnp: None,
        gateway: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        seed: Some(3),
        ..ServerConfig::local()
    })
    .await
    .unwrap();
    assert!(server.addr(Service::Msnp).is_none());
    let addr = server.addr(Service::MsnpGateway).unwrap();

    let open = exchange(
        addr,
        &post("?Action=open&Server=NS&IP=127.0.0.1", "PNG 1 CON 0\r\n"),
    )
    .await;
    assert_eq!(open.status, 200);
    assert!(open.body.starts_with(b"PNG 1 CON 17\r\n"), "{open:?}");
    let m = open.header("X-MSN-Messenger").unwrap();
    assert!(
        m.starts_with("SessionID=") && m.ends_with("; GW-IP=127.0.0.1"),
        "{m}"
    );
    assert_eq!(open.header("X-MSN-Host"), Some(addr.to_string().as_str()));
    assert_eq!(open.header("X-MSN-SessionTimeout"), Some("120"));
    assert_eq!(
        open.header("Content-Type"),
        Some("application/x-msn-messenger")
    );
    let s1 = sid(&open);

    let poll = exchange(
        addr,
        &post(&format!("?Action=poll&SessionID={s1}&Lifespan=1"), ""),
    )
    .await;
    assert_eq!((poll.status, poll.body.len()), (200, 0), "{poll:?}");
    let s2 = sid(&poll);
    assert_ne!(s1, s2, "the suffix rotates");

    // Early return: a poll that may wait 60 s gets the reply to a send made meanwhile; the
    // send's own answer is empty because its output went to the waiting poll.
    let waiting = tokio::spawn(async move {
        let poll = post(&format!("?Action=poll&SessionID={s2}&Lifespan=60"), "");
        loop {
            // 400: the probe below was the waiting poll at that moment; ask again.
            let r = exchange(addr, &poll).await;
            if r.status != 400 {
                return r;
            }
        }
    });
    let mut second = exchange(
        addr,
        &post(&format!("?Action=poll&SessionID={s1}&Lifespan=1"), ""),
    )
    .await;
    while second.status == 200 {
        // The first poll had not arrived yet: this one answered empty after its Lifespan.
        second = exchange(
            addr,
            &post(&format!("?Action=poll&SessionID={s1}&Lifespan=1"), ""),
        )
        .await;
    }
    assert_eq!(second.status, 400, "a second poll while one waits");
    assert!(second.header("X-MSN-Messenger").is_some() && second.body.is_empty());
    let send = exchange(addr, &post(&format!("?SessionID={s1}"), "PNG 2 CON 0\r\n")).await;
    assert_eq!((send.status, send.body.len()), (200, 0));
    let got = waiting.await.unwrap();
    assert!(got.body.starts_with(b"PNG 2 CON 17\r\n"), "{got:?}");

    let unknown = exchange(addr, &post("?SessionID=1.1", "PNG 3 CON 0\r\n")).await;
    assert_eq!(unknown.status, 200);
    assert_eq!(
        unknown.header("X-MSN-Messenger"),
        Some("SessionID=1.1; Session=close")
    );
    assert!(unknown.body.is_empty());
    let nowhere = exchange(
        addr,
        &HttpRequest {
            target: "/elsewhere".into(),
            ..post("", "")
        },
    )
    .await;
    assert_eq!(nowhere.status, 404);

    let close = exchange(addr, &post(&format!("?Action=close&SessionID={s1}"), "")).await;
    assert!(
        close
            .header("X-MSN-Messenger")
            .unwrap()
            .ends_with("Session=close")
    );
    let after = exchange(addr, &post(&format!("?SessionID={s1}"), "PNG 4 CON 0\r\n")).await;
    assert!(
        after
            .header("X-MSN-Messenger")
            .unwrap()
            .ends_with("Session=close")
    );
    server.shutdown().await;
}

/// Every MSNP case over the gateway transport and every gateway case, against the embedded
/// server in memory: with the webclient's open, and with the classic open and `--chop`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_every_msnp_case_passes_over_the_gateway_in_memory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let files = scenario::discover(&[root.join("msnp"), root.join("gateway")]).unwrap();
    let loaded: Vec<scenario::Scenario> = files
        .iter()
        .map(|f| scenario::load(f).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let cases: Vec<Arc<scenario::Scenario>> =
        imspec_harness::runner::with_twins(loaded, false, true)
            .into_iter()
            .map(Arc::new)
            .collect();
    assert!(
        cases
            .iter()
            .all(|c| imspec_harness::runner::is_gateway_case(c))
    );
    assert!(cases.iter().any(|c| c.id.ends_with(gateway::SUFFIX)));
    let server = Arc::new(Server::start(ServerConfig::local()).await.unwrap());
    let mem = crate::scenarios::mem_dialer(server);
    for (open, chop) in [(Open::Webclient, false), (Open::Classic, true)] {
        let connector = Gateway::new(
            Arc::new(mem.clone()),
            Options {
                open,
                ..Options::default()
            },
        );
        let opts = RunOptions {
            chop,
            ..RunOptions::default()
        };
        let results =
            runner::run_all(cases.clone(), &opts, Arc::new(connector), 4, |_, _, _| {}).await;
        let bad: Vec<String> = results
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .map(|r| imspec_harness::report::human::failure_text(r, false))
            .collect();
        assert!(bad.is_empty(), "{open:?} chop={chop}:\n{}", bad.join("\n"));
    }
}

/// What the scripted gateway does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    /// Rotate the SessionID on every answer and point later requests at another address.
    Rotate,
    /// The second send's answer (the third request) says `Session=close`.
    CloseOnSecondSend,
    /// Answers cut the last command short.
    Split,
}

#[derive(Debug, Default)]
struct Log {
    /// (endpoint dialed, request target) per request.
    requests: Vec<(String, String)>,
    /// Sends whose SessionID was not the newest one answered.
    stale: Vec<String>,
    serial: u64,
    sends: u64,
}

/// A gateway written for the test with hyper: polls wait until the connection drops; opens
/// and sends echo their commands.
fn scripted(script: Script) -> (Mem, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    let l2 = Arc::clone(&log);
    let mem = Mem::new(move |to, stream| {
        let (log, dialed) = (Arc::clone(&l2), to.to_string());
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let (log, dialed) = (Arc::clone(&log), dialed.clone());
            async move {
                let target = req.uri().to_string();
                let q = Query::parse(req.uri().query().unwrap_or(""));
                let body = req.into_body().collect().await.unwrap().to_bytes();
                let action = q.action.clone().unwrap_or_default();
                if action == "poll" {
                    log.lock()
                        .unwrap()
                        .requests
                        .push((dialed.clone(), target.clone()));
                    std::future::pending::<()>().await;
                }
                let mut g = log.lock().unwrap();
                g.requests.push((dialed, target));
                if action.is_empty() {
                    g.sends += 1;
                    let newest = format!("fake.{}", g.serial);
                    if q.session_id.as_deref() != Some(newest.as_str()) {
                        g.stale.push(format!("{:?} after {newest}", q.session_id));
                    }
                }
                g.serial += 1;
                let mut messenger = format!("SessionID=fake.{}; GW-IP=10.9.8.7:1863", g.serial);
                if script == Script::CloseOnSecondSend && g.sends == 2 {
                    messenger = format!("SessionID=fake.{}; Session=close", g.serial);
                }
                let mut out = body.to_vec();
                if script == Script::Split && !out.is_empty() {
                    out.truncate(out.len() - 3);
                }
                drop(g);
                let resp = hyper::Response::builder()
                    .header("X-MSN-Messenger", messenger)
                    .body(Full::new(Bytes::from(out)))
                    .unwrap();
                Ok::<_, Infallible>(resp)
            }
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service),
        );
        Ok(())
    });
    (mem, log)
}

async fn read_command(s: &mut BoxStream, buf: &mut Vec<u8>) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Ok(Status::Complete((_, n))) = msnp::parse(buf) {
            return Ok(Some(buf.drain(..n).collect()));
        }
        let mut chunk = [0u8; 1024];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn connect(mem: Mem) -> BoxStream {
    Gateway::wrap(mem)
        .connect(&Endpoint::Service(gateway::SERVICE.into()))
        .await
        .unwrap()
}

/// The transport sends each command after the newest SessionID, to the newest GW-IP, and
/// ends the session with `Action=close` when the runner closes the stream.
#[tokio::test]
async fn gateway_transport_follows_session_id_and_gw_ip_and_closes() {
    let (mem, log) = scripted(Script::Rotate);
    let mut s = connect(mem).await;
    let mut buf = Vec::new();
    for trid in 1..=3 {
        let cmd = format!("PNG {trid} CON 0\r\n");
        s.write_all(cmd.as_bytes()).await.unwrap();
        let got = read_command(&mut s, &mut buf).await.unwrap().unwrap();
        assert_eq!(got, cmd.as_bytes());
    }
    // The shutdown completes once the bridge has closed the session.
    s.shutdown().await.unwrap();
    let g = log.lock().unwrap();
    assert!(
        g.requests
            .iter()
            .any(|(_, t)| t.contains("Action=close&SessionID=fake.")),
        "{:?}",
        g.requests
    );
    assert!(g.stale.is_empty(), "stale SessionIDs: {:?}", g.stale);
    let (first_at, first) = &g.requests[0];
    assert_eq!(first_at, &format!("service {}", gateway::SERVICE));
    assert!(
        first.contains("Version=1&Protocol=mtp&Action=open&Server=NS&IP=none"),
        "{first}"
    );
    for (at, target) in &g.requests[1..] {
        assert_eq!(
            at, "address 10.9.8.7:1863",
            "{target} went to the old address"
        );
    }
    assert!(
        g.requests
            .iter()
            .any(|(_, t)| t.contains("Action=poll&SessionID=fake.") && t.ends_with("&Lifespan=60"))
    );
}

/// The stream's shutdown completes only when what was written has been sent and answered
/// and the session closed: the runner's `disconnect` waits for it, so the next step starts
/// after the server has taken the bytes in. (A shutdown that returned at once left the
/// requests in flight, racing the next step's: on this one-thread runtime the bridge had
/// not even run yet.)
#[tokio::test]
async fn gateway_transport_shutdown_waits_for_the_sends_and_the_close() {
    let (mem, log) = scripted(Script::Rotate);
    let mut s = connect(mem).await;
    s.write_all(b"PNG 1 CON 0\r\nPNG 2 CON 0\r\n")
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    let targets: Vec<String> = log
        .lock()
        .unwrap()
        .requests
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert!(
        targets.first().is_some_and(|t| t.contains("Action=open")),
        "{targets:?}"
    );
    assert!(
        targets
            .last()
            .is_some_and(|t| t.contains("Action=close&SessionID=fake.")),
        "{targets:?}"
    );
    // What the answers carried is still there to read.
    let mut buf = Vec::new();
    for trid in 1..=2 {
        let got = read_command(&mut s, &mut buf).await.unwrap().unwrap();
        assert_eq!(got, format!("PNG {trid} CON 0\r\n").as_bytes());
    }
}

/// `Session=close` ends the stream after the body it came with.
#[tokio::test]
async fn gateway_transport_ends_the_stream_on_session_close() {
    let (mem, _log) = scripted(Script::CloseOnSecondSend);
    let mut s = connect(mem).await;
    let mut buf = Vec::new();
    for trid in 1..=3 {
        s.write_all(format!("PNG {trid} CON 0\r\n").as_bytes())
            .await
            .unwrap();
        assert!(read_command(&mut s, &mut buf).await.unwrap().is_some());
    }
    assert_eq!(
        read_command(&mut s, &mut buf).await.unwrap(),
        None,
        "EOF after Session=close"
    );
}

/// A body that ends inside a command fails the stream with a read error that says so.
#[tokio::test]
async fn gateway_transport_fails_on_a_split_command() {
    let (mem, _log) = scripted(Script::Split);
    let mut s = connect(mem).await;
    s.write_all(b"PNG 1 CON 2\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let e = read_command(&mut s, &mut buf).await.unwrap_err();
    assert!(e.to_string().contains("ends inside a command"), "{e}");
}
