//! The SIP hub in memory: bytes in, frames out, no sockets and no clock (one TCP test in
//! `relay.rs` drives the real driver over loopback). This file holds the harness ([`Pair`])
//! and the tests of what all requests share; each concept's tests sit in the file named
//! after it.

use imspec_codec::msrp::{self, Chunk};
use imspec_codec::sip::message_summary::Class;
use imspec_codec::sip::sdp;

use super::*;
use crate::db::Open as _;

mod mailbox;
mod mwi;
mod offline;
mod publish;
mod registrar;
mod relay;

const NOW: u64 = 1_700_000_000_000;
const ALICE: ConnId = 1;
const BOB: ConnId = 2;
const CAROL: ConnId = 3;
const MSRP_CONN: ConnId = 10;

struct Pair {
    hub: Hub,
    /// Bytes the hub sent to each connection and not yet parsed.
    wire: HashMap<ConnId, Vec<u8>>,
    closed: Vec<ConnId>,
    cseq: u32,
}

impl Pair {
    fn new(mutant: Option<Mutant>) -> Self {
        Self::with(mutant, Mailbox::in_memory().unwrap())
    }

    fn with(mutant: Option<Mutant>, store: Mailbox) -> Self {
        let config = Config {
            seed: 7,
            mutant,
            ..Config::new("127.0.0.1:5060", "127.0.0.1:2855")
        };
        let mut hub = Hub::new(config, store);
        for c in [ALICE, BOB, CAROL] {
            hub.handle(NOW, c, Event::Connected(Service::Sip));
        }
        Self {
            hub,
            wire: HashMap::new(),
            closed: Vec::new(),
            cseq: 0,
        }
    }

    fn feed(&mut self, conn: ConnId, bytes: &[u8]) {
        self.feed_at(NOW, conn, bytes);
    }

    fn feed_at(&mut self, now: u64, conn: ConnId, bytes: &[u8]) {
        self.hub.handle(now, conn, Event::Data(bytes));
        self.pump();
    }

    fn pump(&mut self) {
        while let Some(o) = self.hub.poll_output() {
            match o {
                Output::Send { conn, bytes } => self.wire.entry(conn).or_default().extend(bytes),
                Output::Close { conn } => self.closed.push(conn),
            }
        }
    }

    /// Every SIP message the hub sent to `conn` since the last call.
    fn sip(&mut self, conn: ConnId) -> Vec<Message<'static>> {
        let buf = self.wire.remove(&conn).unwrap_or_default();
        let mut out = Vec::new();
        let mut rest = &buf[..];
        while !rest.is_empty() {
            match sip::parse(rest) {
                Ok(Status::Complete((m, n))) => {
                    out.push(m.into_owned());
                    rest = &rest[n..];
                }
                other => panic!("bad output {other:?}: {:?}", String::from_utf8_lossy(rest)),
            }
        }
        out
    }

    /// Every MSRP chunk the hub sent to `conn`.
    fn msrp(&mut self, conn: ConnId) -> Vec<Chunk<'static>> {
        let buf = self.wire.remove(&conn).unwrap_or_default();
        let mut out = Vec::new();
        let mut rest = &buf[..];
        while !rest.is_empty() {
            match msrp::parse(rest) {
                Ok(Status::Complete((c, n))) => {
                    out.push(c.into_owned());
                    rest = &rest[n..];
                }
                other => panic!("bad output {other:?}"),
            }
        }
        out
    }

    fn one(&mut self, conn: ConnId) -> Message<'static> {
        let mut v = self.sip(conn);
        assert_eq!(v.len(), 1, "{v:#?}");
        v.remove(0)
    }

    fn next_cseq(&mut self) -> u32 {
        self.cseq += 1;
        self.cseq
    }

    fn register(
        &mut self,
        conn: ConnId,
        user: &str,
        contact: &str,
        expires: u32,
    ) -> Message<'static> {
        let n = self.next_cseq();
        let req = format!(
            "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5091;branch=z9hG4bK-reg{n}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@127.0.0.1:5060>;tag=r{n}\r\nTo: <sip:{user}@127.0.0.1:5060>\r\nCall-ID: reg-{user}\r\nCSeq: {n} REGISTER\r\nContact: <{contact}>\r\nExpires: {expires}\r\nContent-Length: 0\r\n\r\n"
        );
        self.feed(conn, req.as_bytes());
        let mut v = self.sip(conn);
        assert!(!v.is_empty());
        let first = v.remove(0);
        assert_eq!(first.status(), Some(200), "{first:?}");
        // Whatever else came (dumped MESSAGEs) goes back on the wire for the caller.
        for m in v {
            self.wire.entry(conn).or_default().extend(m.to_bytes());
        }
        first
    }

    fn message(&mut self, _conn: ConnId, to: &str, body: &str) -> Vec<u8> {
        let n = self.next_cseq();
        format!(
            "MESSAGE sip:{to}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5071;branch=z9hG4bK-m{n}\r\nMax-Forwards: 70\r\nFrom: \"alice\" <sip:alice@127.0.0.1:5060>;tag=a{n}\r\nTo: <sip:{to}@127.0.0.1:5060>\r\nCall-ID: m{n}@127.0.0.1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Sends a MESSAGE from alice and returns her final response.
    fn send_message(&mut self, to: &str, body: &str) -> Message<'static> {
        let req = self.message(ALICE, to, body);
        self.feed(ALICE, &req);
        self.one(ALICE)
    }

    fn subscribe(&mut self, conn: ConnId, user: &str, expires: u32, to_tag: Option<&str>) {
        let n = self.next_cseq();
        let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        let req = format!(
            "SUBSCRIBE sip:{user}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5092;branch=z9hG4bK-s{n}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@127.0.0.1:5060>;tag=sub{user}\r\nTo: <sip:{user}@127.0.0.1:5060>{to_tag}\r\nCall-ID: sub-{user}\r\nCSeq: {n} SUBSCRIBE\r\nContact: <sip:{user}@127.0.0.1:5092;transport=tcp>\r\nEvent: message-summary\r\nAccept: application/simple-message-summary\r\nExpires: {expires}\r\nContent-Length: 0\r\n\r\n"
        );
        self.feed(conn, req.as_bytes());
    }

    fn publish(
        &mut self,
        user: &str,
        if_match: Option<&str>,
        expires: u32,
        body: &str,
    ) -> Message<'static> {
        let n = self.next_cseq();
        let if_match = if_match
            .map(|e| format!("SIP-If-Match: {e}\r\n"))
            .unwrap_or_default();
        let ct = if body.is_empty() {
            String::new()
        } else {
            "Content-Type: application/simple-message-summary\r\n".to_owned()
        };
        let req = format!(
            "PUBLISH sip:{user}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5093;branch=z9hG4bK-p{n}\r\nMax-Forwards: 70\r\nFrom: <sip:voicemail@127.0.0.1:5060>;tag=p{n}\r\nTo: <sip:{user}@127.0.0.1:5060>\r\nCall-ID: pub{n}\r\nCSeq: 1 PUBLISH\r\nEvent: message-summary\r\n{if_match}Expires: {expires}\r\n{ct}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.feed(CAROL, req.as_bytes());
        self.one(CAROL)
    }
}

/// A `200 OK` for `req`, as a user agent writes it.
fn ok(req: &Message<'_>) -> Vec<u8> {
    answer(req, 200, "OK")
}

fn answer(req: &Message<'_>, status: u16, reason: &str) -> Vec<u8> {
    let mut resp = Message::response(status, reason.to_owned());
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        for v in req.header_all(name) {
            let v = if name == "To" && !v.contains("tag=") {
                format!("{v};tag=ua")
            } else {
                v.to_owned()
            };
            resp.headers.push(name, v);
        }
    }
    resp.with_body(Vec::new()).to_bytes()
}

fn body(m: &Message<'_>) -> String {
    m.body_text().unwrap().to_owned()
}

fn summary(m: &Message<'_>) -> (bool, u32, Option<String>) {
    let s = m.message_summary().unwrap();
    let text = s.summary(Class::Text).map_or(0, |s| s.new);
    (s.waiting, text, s.account.map(|a| a.to_string()))
}

#[test]
fn sip_bad_requests_get_400_or_close() {
    let mut p = Pair::new(None);
    let no_cseq = "MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n";
    p.feed(ALICE, no_cseq.as_bytes());
    let r = p.one(ALICE);
    assert_eq!(r.status(), Some(400));
    assert_eq!(r.call_id(), Some("x"));
    assert_eq!(
        r.header("Warning"),
        Some("399 imspec \"missing or bad CSeq\"")
    );
    let wrong_method = no_cseq.replace("Call-ID: x\r\n", "Call-ID: x\r\nCSeq: 1 INVITE\r\n");
    p.feed(ALICE, wrong_method.as_bytes());
    assert_eq!(p.one(ALICE).status(), Some(400));
    let ok_msg = no_cseq.replace("Call-ID: x\r\n", "Call-ID: x\r\nCSeq: 1 MESSAGE\r\n");
    let cases = [
        (
            ok_msg.replace("sip:bob@127.0.0.1 SIP", "sip:bob@example.com SIP"),
            403,
        ),
        (ok_msg.replace("sip:bob@127.0.0.1 SIP", "tel:+123 SIP"), 416),
        (
            ok_msg.replace("Call-ID: x", "Max-Forwards: 0\r\nCall-ID: x"),
            483,
        ),
        (ok_msg.replace("MESSAGE", "FROB"), 501),
        (ok_msg.replace("MESSAGE", "NOTIFY"), 405),
        (ok_msg.replace("MESSAGE", "OPTIONS"), 200),
        (ok_msg.replace("MESSAGE", "CANCEL"), 481),
        (
            ok_msg.replace("sip:bob@127.0.0.1 SIP", "sip:offline@127.0.0.1 SIP"),
            405,
        ),
        (
            ok_msg.replace("sip:bob@127.0.0.1 SIP", "sip:127.0.0.1 SIP"),
            404,
        ),
        (ok_msg.replace("MESSAGE", "SUBSCRIBE"), 489),
        (
            ok_msg.replace("sip:bob@127.0.0.1 SIP", "sip:bob@IMSPEC.test:5080 SIP"),
            202,
        ),
        (
            ok_msg.replace("sip:bob@127.0.0.1 SIP", "sip:bob@localhost SIP"),
            202,
        ),
    ];
    for (req, want) in cases {
        p.feed(ALICE, req.as_bytes());
        assert_eq!(p.one(ALICE).status(), Some(want), "{req}");
    }
    let stored = p.hub.stored("bob", NOW);
    // Framing garbage closes that connection only; nothing stored is lost.
    p.feed(
        ALICE,
        b"MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nContent-Length: x\r\n\r\n",
    );
    assert!(p.closed.contains(&ALICE));
    p.feed(BOB, b"\r\n\r\n");
    assert_eq!(p.wire.remove(&BOB), Some(b"\r\n".to_vec()), "RFC 5626 pong");
    assert_eq!(p.hub.stored("bob", NOW), stored);

    let mut m = Pair::new(Some(Mutant::SipMalformedIgnored));
    m.feed(ALICE, no_cseq.as_bytes());
    assert!(m.sip(ALICE).is_empty());
}

#[test]
fn sip_unknown_accounts_are_404() {
    let store = Mailbox::in_memory().unwrap();
    let mut p = Pair::with(None, store);
    p.hub.config.accounts = crate::accounts::Accounts::parse("bob x\nalice x\n").unwrap();
    assert_eq!(p.send_message("eve", "x").status(), Some(404));
    assert_eq!(p.send_message("bob", "x").status(), Some(202));
}

#[test]
fn sip_byte_by_byte_input_gives_the_same_answers() {
    let mut p = Pair::new(None);
    let req = p.message(ALICE, "bob", "chunked");
    let mut twice = req.clone();
    twice.extend_from_slice(&p.message(ALICE, "bob", "second"));
    for b in &twice {
        p.feed(ALICE, std::slice::from_ref(b));
    }
    let out = p.sip(ALICE);
    assert_eq!(
        out.iter().map(|m| m.status()).collect::<Vec<_>>(),
        [Some(202); 2]
    );
}

#[test]
fn sip_uri_reading() {
    let u = sip_uri("sip:bob:pw@[::1]:5070;transport=TCP;ob?x=y").unwrap();
    assert_eq!(
        (u.user.as_deref(), &*u.host, u.port),
        (Some("bob"), "[::1]", Some(5070))
    );
    assert_eq!(u.transport(), Some("TCP"));
    assert!(u.has_param("ob"));
    assert_eq!(u.socket_addr(), Some("[::1]:5070".parse().unwrap()));
    let u = sip_uri("SIP:127.0.0.1").unwrap();
    assert_eq!(
        (u.user.as_deref(), u.socket_addr()),
        (None, Some("127.0.0.1:5060".parse().unwrap()))
    );
    // What the strict grammar refuses but user agents write: an unescaped `#`, a `_` host.
    let u = sip_uri("sip:a#b@under_score.example").unwrap();
    assert_eq!(
        (u.user.as_deref(), &*u.host),
        (Some("a#b"), "under_score.example")
    );
    assert_eq!(sip_uri("sips:bob@h"), None, "no TLS");
    assert_eq!(sip_uri("tel:+1555"), None);
    assert_eq!(sip_uri("sip:@h"), None);
    assert_eq!(sip_uri("sip:h:99999"), None);
    assert_eq!(sip_uri("sip:bob@host.example").unwrap().socket_addr(), None);
    assert_eq!(split_host_port("[::1]:80"), ("[::1]", "80"));
    assert_eq!(split_host_port("127.0.0.1:5060"), ("127.0.0.1", "5060"));
}
