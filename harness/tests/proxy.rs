//! Every SIP case through a proxy that rewrites what the reference server sends.
//!
//! The proxy listens on loopback (port 0) for the runner and hands each connection to the
//! server in memory (so the server routes relays back over the registering connection, as it
//! does for a UA behind NAT). Server→client messages are re-written:
//!
//! * in ways RFC 3261 calls valid and equivalent (§7.3.1 header-line forms and folding, §7.3.3
//!   compact names, §7.3.1 name case and the order of different names, unknown headers that a
//!   UA ignores (§8.1.3.2… §16.6), §25.1 SWS around a Contact's `;` and `=`, and any split or
//!   coalescing of writes on the stream (§18.3)): every SIP case must still pass;
//! * in harmful ways (another Call-ID or CSeq on responses, the To tag dropped from final
//!   responses): some case must fail, so the proxy's equivalence is not vacuous.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use imspec_codec::Status;
use imspec_codec::sip::{self, Message, StartLine, header};
use imspec_harness::runner::{self, RunOptions, Verdict};
use imspec_harness::scenario;
use imspec_harness::transport::tcp::Tcp;
use imspec_server::{Server, ServerConfig, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};

/// One way of re-writing every message the server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rewrite {
    // Equivalent (RFC 3261 §7.3.1, §7.3.3, §25.1, §18.3).
    NoSpaceAfterColon,
    ExtraSpaces,
    TabAfterColon,
    SpaceBeforeColon,
    Folded,
    CompactNames,
    NameCase,
    HeaderOrder,
    UnknownHeaders,
    ContactSws,
    SplitWrites,
    CoalescedWrites,
    // Harmful.
    OtherCallId,
    OtherCSeq,
    NoToTag,
}

const EQUIVALENT: &[Rewrite] = &[
    Rewrite::NoSpaceAfterColon,
    Rewrite::ExtraSpaces,
    Rewrite::TabAfterColon,
    Rewrite::SpaceBeforeColon,
    Rewrite::Folded,
    Rewrite::CompactNames,
    Rewrite::NameCase,
    Rewrite::HeaderOrder,
    Rewrite::UnknownHeaders,
    Rewrite::ContactSws,
    Rewrite::SplitWrites,
    Rewrite::CoalescedWrites,
];

const HARMFUL: &[Rewrite] = &[Rewrite::OtherCallId, Rewrite::OtherCSeq, Rewrite::NoToTag];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_cases_pass_through_equivalent_rewrites_and_fail_through_harmful_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/sip");
    let files = scenario::discover(&[root]).unwrap();
    let cases: Vec<Arc<scenario::Scenario>> = files
        .iter()
        .map(|f| Arc::new(scenario::load(f).unwrap_or_else(|e| panic!("{e}"))))
        .collect();
    assert!(cases.len() >= 16);
    let server = Arc::new(Server::start(ServerConfig::local()).await.unwrap());
    let msrp = server
        .addrs()
        .into_iter()
        .find(|(s, _)| *s == Service::Msrp)
        .map(|(_, a)| a)
        .unwrap();
    for &rewrite in EQUIVALENT.iter().chain(HARMFUL) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = listener.local_addr().unwrap();
        let task = tokio::spawn(serve(listener, Arc::clone(&server), rewrite));
        let connector = Tcp::new(BTreeMap::from([
            ("sip".to_owned(), proxy),
            ("msrp".to_owned(), msrp),
        ]));
        let harmful = HARMFUL.contains(&rewrite);
        let opts = RunOptions {
            // A harmful rewrite fails by a reply that never pairs: wait less for it.
            timeout_scale: if harmful { 0.2 } else { 1.0 },
            ..RunOptions::default()
        };
        let results =
            runner::run_all(cases.clone(), &opts, Arc::new(connector), 8, |_, _, _| {}).await;
        task.abort();
        let failed: Vec<String> = results
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .map(|r| imspec_harness::report::human::failure_text(r, false))
            .collect();
        if harmful {
            assert!(!failed.is_empty(), "{rewrite:?}: every SIP case passed");
        } else {
            assert!(failed.is_empty(), "{rewrite:?}:\n{}", failed.join("\n"));
        }
    }
}

/// Accepts runner connections and joins each to a new in-memory server connection.
async fn serve(listener: TcpListener, server: Arc<Server>, rewrite: Rewrite) {
    while let Ok((client, _)) = listener.accept().await {
        let Some(upstream) = server.connect_mem(Service::Sip) else {
            return;
        };
        tokio::spawn(pump(client, upstream, rewrite));
    }
}

/// Client bytes go up unchanged; server bytes come down re-written, message by message.
async fn pump(client: TcpStream, upstream: DuplexStream, rewrite: Rewrite) {
    let _ = client.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let up = async move {
        let _ = tokio::io::copy(&mut cr, &mut uw).await;
        let _ = uw.shutdown().await;
    };
    let down = async move {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            match ur.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if rewrite == Rewrite::CoalescedWrites {
                // Whatever else the server has already written joins this write (the timeout
                // polls the read once before it looks at the clock).
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::ZERO, ur.read(&mut chunk)).await
                {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
            let out = cut(&mut buf, rewrite);
            let written = if rewrite == Rewrite::SplitWrites {
                let mut r = Ok(());
                for piece in out.chunks(5) {
                    r = r.and(cw.write_all(piece).await);
                    r = r.and(cw.flush().await);
                }
                r
            } else {
                cw.write_all(&out).await
            };
            if written.is_err() {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

/// Takes every complete message (and keep-alive) off `buf`, re-written.
fn cut(buf: &mut Vec<u8>, rewrite: Rewrite) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let k = sip::keepalive(buf);
        out.extend(buf.drain(..k));
        let n = match sip::parse(buf) {
            Ok(Status::Complete((msg, n))) => {
                out.extend(rewritten(&msg, rewrite));
                n
            }
            Ok(Status::Incomplete(_)) => return out,
            // Not the proxy's business: passed on as it came.
            Err(_) => buf.len(),
        };
        buf.drain(..n);
        if buf.is_empty() {
            return out;
        }
    }
}

fn rewritten(msg: &Message<'_>, rewrite: Rewrite) -> Vec<u8> {
    let mut out = match &msg.start {
        StartLine::Request { method, uri } => format!("{} {uri} SIP/2.0\r\n", method.as_str()),
        StartLine::Response { status, reason } => format!("SIP/2.0 {status} {reason}\r\n"),
    };
    let status = match &msg.start {
        StartLine::Response { status, .. } => Some(*status),
        StartLine::Request { .. } => None,
    };
    let mut headers: Vec<(String, String)> = msg
        .headers
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_string()))
        .collect();
    match rewrite {
        Rewrite::CompactNames => {
            for (name, _) in &mut headers {
                if let Some(c) = COMPACT
                    .iter()
                    .find(|(_, long)| long.eq_ignore_ascii_case(name))
                {
                    *name = c.0.to_owned();
                }
            }
        }
        Rewrite::NameCase => {
            for (i, (name, _)) in headers.iter_mut().enumerate() {
                *name = if i % 2 == 0 {
                    name.to_ascii_lowercase()
                } else {
                    name.to_ascii_uppercase()
                };
            }
        }
        // Reverse order of names; lines of one name keep their order (§7.3.1).
        Rewrite::HeaderOrder => headers
            .sort_by_key(|(n, _)| std::cmp::Reverse(header::full_name(n).to_ascii_lowercase())),
        Rewrite::UnknownHeaders => {
            headers.insert(0, ("X-Imspec-Proxy".into(), "first; unknown=1".into()));
            headers.push(("P-Unknown-Extension".into(), "last".into()));
        }
        Rewrite::ContactSws => {
            for (name, value) in &mut headers {
                if header::same_name(name, "Contact")
                    && let Some(gt) = value.rfind('>')
                {
                    let (addr, params) = value.split_at(gt + 1);
                    *value = format!("{addr}{}", params.replace(';', " ; ").replace('=', " = "));
                }
            }
        }
        Rewrite::OtherCallId if status.is_some() => {
            for (name, value) in &mut headers {
                if header::same_name(name, "Call-ID") {
                    value.push_str("-other");
                }
            }
        }
        Rewrite::OtherCSeq if status.is_some() => {
            for (name, value) in &mut headers {
                if header::same_name(name, "CSeq")
                    && let Some((n, method)) = value.split_once(' ')
                {
                    let n: u32 = n.parse().unwrap_or(0);
                    *value = format!("{} {method}", n + 1);
                }
            }
        }
        Rewrite::NoToTag if status.is_some_and(|s| s >= 200) => {
            for (name, value) in &mut headers {
                if header::same_name(name, "To")
                    && let Some(at) = value.find(";tag=")
                {
                    let end = value[at + 1..]
                        .find(';')
                        .map_or(value.len(), |e| at + 1 + e);
                    value.replace_range(at..end, "");
                }
            }
        }
        _ => {}
    }
    for (name, value) in &headers {
        let line = match rewrite {
            Rewrite::NoSpaceAfterColon => format!("{name}:{value}"),
            Rewrite::ExtraSpaces => format!("{name}:   {value}  "),
            Rewrite::TabAfterColon => format!("{name}:\t{value}"),
            Rewrite::SpaceBeforeColon => format!("{name} :{value}"),
            // Folded after the colon and at the value's first space.
            Rewrite::Folded => format!("{name}:\r\n {}", value.replacen(' ', "\r\n\t", 1)),
            _ => format!("{name}: {value}"),
        };
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&msg.body);
    bytes
}

/// RFC 3261 §7.3.3 and the RFC 3265/3515 compact forms.
const COMPACT: &[(&str, &str)] = &[
    ("c", "Content-Type"),
    ("e", "Content-Encoding"),
    ("f", "From"),
    ("i", "Call-ID"),
    ("k", "Supported"),
    ("l", "Content-Length"),
    ("m", "Contact"),
    ("o", "Event"),
    ("s", "Subject"),
    ("t", "To"),
    ("u", "Allow-Events"),
    ("v", "Via"),
];
