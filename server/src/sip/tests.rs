//! The SIP hub in memory: bytes in, frames out, no sockets and no clock (one TCP test at the
//! end drives the real driver over loopback).

use super::*;

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
fn sip_register_lists_bindings_and_expires_zero_removes() {
    let mut p = Pair::new(None);
    let r = p.register(BOB, "bob", "sip:bob@127.0.0.1:5090;transport=tcp", 300);
    assert_eq!(
        r.header("Contact"),
        Some("<sip:bob@127.0.0.1:5090;transport=tcp>;expires=300")
    );
    assert!(r.to().unwrap().unwrap().tag().is_some());
    assert_eq!(r.call_id(), Some("reg-bob"));
    let r = p.register(BOB, "bob", "sip:bob@127.0.0.1:5099", 60);
    assert_eq!(r.header_all("Contact").count(), 2);
    let r = p.register(BOB, "bob", "sip:bob@127.0.0.1:5099", 0);
    assert_eq!(r.header_all("Contact").count(), 1);
    let r = p.register(BOB, "bob", "sip:bob@127.0.0.1:5090;transport=tcp", 0);
    assert_eq!(r.header("Contact"), None, "no binding left");

    let mut m = Pair::new(Some(Mutant::SipUnregisterIgnored));
    m.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let r = m.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 0);
    assert!(
        r.header("Contact").is_some(),
        "the mutant keeps the binding"
    );
}

#[test]
fn sip_register_star_and_bad_expires() {
    let mut p = Pair::new(None);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let star = "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKs\r\nFrom: <sip:bob@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: s\r\nCSeq: 9 REGISTER\r\nContact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n";
    p.feed(BOB, star.as_bytes());
    let r = p.one(BOB);
    assert_eq!((r.status(), r.header("Contact")), (Some(200), None));
    let bad = star.replace("Expires: 0", "Expires: 10");
    p.feed(BOB, bad.as_bytes());
    assert_eq!(p.one(BOB).status(), Some(400));
}

#[test]
fn sip_offline_message_is_stored_202_and_dumped_in_order_after_register() {
    let mut p = Pair::new(None);
    let r = p.send_message("bob", "first");
    assert_eq!((r.status(), r.call_id()), (Some(202), Some("m1@127.0.0.1")));
    assert_eq!(p.send_message("bob", "second").status(), Some(202));
    assert_eq!(p.hub.stored("bob", NOW), 2);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let dumped = p.sip(BOB);
    assert_eq!(dumped.len(), 2);
    assert_eq!(body(&dumped[0]), "first");
    assert_eq!(body(&dumped[1]), "second");
    let d = &dumped[0];
    assert_eq!(d.uri(), Some("sip:bob@127.0.0.1:5090"));
    assert_eq!(d.from().unwrap().unwrap().uri, "sip:alice@127.0.0.1:5060");
    assert_eq!(
        d.from().unwrap().unwrap().display.as_deref(),
        Some("\"alice\"")
    );
    assert!(d.from().unwrap().unwrap().tag().is_some());
    assert_eq!(d.to().unwrap().unwrap().uri, "sip:bob@127.0.0.1:5060");
    assert_eq!(d.header("Content-Type"), Some("text/plain"));
    assert!(d.header("Date").unwrap().ends_with(" GMT"));
    assert_ne!(d.call_id(), dumped[1].call_id());
    // Deleted only after the UA's 2xx; a 480 keeps the second for the next REGISTER.
    p.feed(BOB, &ok(&dumped[0]));
    assert_eq!(p.hub.stored("bob", NOW), 1);
    p.feed(BOB, &answer(&dumped[1], 480, "Temporarily Unavailable"));
    assert_eq!(p.hub.stored("bob", NOW), 1);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let again = p.sip(BOB);
    assert_eq!(again.iter().map(body).collect::<Vec<_>>(), ["second"]);
    p.feed(BOB, &ok(&again[0]));
    assert_eq!(p.hub.stored("bob", NOW), 0);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    assert!(p.sip(BOB).is_empty(), "each message delivered once");
}

#[test]
fn sip_dump_waits_for_the_ua_and_a_refresh_does_not_resend_in_flight() {
    let mut p = Pair::new(None);
    p.send_message("bob", "one");
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let first = p.sip(BOB);
    assert_eq!(first.len(), 1);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    assert!(p.sip(BOB).is_empty(), "still in flight");
    // No answer within the timeout: kept, and sent again on the next REGISTER.
    p.hub.handle_timeout(NOW + RELAY_TIMEOUT_MS);
    p.pump();
    assert_eq!(p.hub.stored("bob", NOW), 1);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    assert_eq!(p.sip(BOB).len(), 1);
}

#[test]
fn sip_dump_mutants() {
    let mut p = Pair::new(Some(Mutant::SipDumpOutOfOrder));
    p.send_message("bob", "first");
    p.send_message("bob", "second");
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    assert_eq!(
        p.sip(BOB).iter().map(body).collect::<Vec<_>>(),
        ["second", "first"]
    );

    let mut p = Pair::new(Some(Mutant::SipDeleteBefore2xx));
    p.send_message("bob", "lost");
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let d = p.sip(BOB);
    p.feed(BOB, &answer(&d[0], 480, "Temporarily Unavailable"));
    assert_eq!(p.hub.stored("bob", NOW), 0, "the mutant lost it");

    let mut p = Pair::new(Some(Mutant::Sip202As200));
    assert_eq!(p.send_message("bob", "x").status(), Some(200));
    assert_eq!(p.hub.stored("bob", NOW), 1);
}

#[test]
fn sip_online_message_is_relayed_and_the_2xx_returned() {
    let mut p = Pair::new(None);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090;transport=tcp", 300);
    let req = p.message(ALICE, "bob", "live");
    p.feed(ALICE, &req);
    assert!(p.sip(ALICE).is_empty(), "nothing before bob answers");
    let relayed = p.one(BOB);
    assert_eq!(relayed.uri(), Some("sip:bob@127.0.0.1:5090;transport=tcp"));
    let vias = relayed.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].host, "127.0.0.1");
    assert_eq!(vias[0].port, Some(5060));
    assert_eq!(vias[1].branch(), Some("z9hG4bK-m2"));
    assert_eq!(relayed.header("Max-Forwards"), Some("69"));
    assert_eq!(relayed.call_id(), Some("m2@127.0.0.1"));
    assert_eq!(body(&relayed), "live");
    p.feed(BOB, &answer(&relayed, 100, "Trying"));
    assert!(p.sip(ALICE).is_empty(), "provisional responses stay");
    p.feed(BOB, &ok(&relayed));
    let back = p.one(ALICE);
    assert_eq!(back.status(), Some(200));
    assert_eq!(back.vias().unwrap().len(), 1);
    assert_eq!(back.vias().unwrap()[0].branch(), Some("z9hG4bK-m2"));
    assert_eq!(p.hub.stored("bob", NOW), 0);
}

#[test]
fn sip_failed_relay_is_stored_and_answered_202() {
    for how in ["486", "timeout", "closed"] {
        let mut p = Pair::new(None);
        p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
        let req = p.message(ALICE, "bob", "kept");
        p.feed(ALICE, &req);
        let relayed = p.one(BOB);
        match how {
            "486" => p.feed(BOB, &answer(&relayed, 486, "Busy Here")),
            "timeout" => {
                p.hub.handle_timeout(NOW + RELAY_TIMEOUT_MS - 1);
                p.pump();
                assert!(p.sip(ALICE).is_empty());
                p.hub.handle_timeout(NOW + RELAY_TIMEOUT_MS);
                p.pump();
            }
            _ => {
                p.hub.handle(NOW, BOB, Event::Closed);
                p.pump();
            }
        }
        assert_eq!(p.one(ALICE).status(), Some(202), "{how}");
        assert_eq!(p.hub.stored("bob", NOW), 1, "{how}");
    }
    let mut p = Pair::new(Some(Mutant::SipRelayDropsOffline));
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let req = p.message(ALICE, "bob", "dropped");
    p.feed(ALICE, &req);
    let relayed = p.one(BOB);
    p.feed(BOB, &answer(&relayed, 486, "Busy Here"));
    assert_eq!(p.one(ALICE).status(), Some(480));
    assert_eq!(p.hub.stored("bob", NOW), 0);
}

#[test]
fn sip_contact_elsewhere_opens_an_outbound_connection() {
    let mut p = Pair::new(None);
    p.hub.set_peer(BOB, "127.0.0.1:40000".parse().unwrap());
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090;transport=tcp", 300);
    let req = p.message(ALICE, "bob", "elsewhere");
    p.feed(ALICE, &req);
    assert!(
        p.sip(BOB).is_empty(),
        "the registering connection is not the Contact"
    );
    let (out, addr) = p.hub.poll_connect().unwrap();
    assert!(out >= OUTBOUND_CONN_BASE);
    assert_eq!(addr, "127.0.0.1:5090".parse().unwrap());
    let relayed = p.one(out);
    assert_eq!(body(&relayed), "elsewhere");
    // A second MESSAGE reuses the outbound connection.
    let req = p.message(ALICE, "bob", "again");
    p.feed(ALICE, &req);
    assert_eq!(p.hub.poll_connect(), None);
    assert_eq!(p.sip(out).len(), 1);
    // The connect fails: both are stored.
    p.hub.handle(NOW, out, Event::Closed);
    p.pump();
    assert_eq!(
        p.sip(ALICE).iter().map(|m| m.status()).collect::<Vec<_>>(),
        [Some(202); 2]
    );
    assert_eq!(p.hub.stored("bob", NOW), 2);

    // Contact = source address: the registering connection is reused (Kamailio's rule).
    let mut p = Pair::new(None);
    p.hub.set_peer(BOB, "127.0.0.1:5090".parse().unwrap());
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090;transport=tcp", 300);
    let req = p.message(ALICE, "bob", "reuse");
    p.feed(ALICE, &req);
    assert_eq!(p.sip(BOB).len(), 1);
    assert_eq!(p.hub.poll_connect(), None);
    // A host name or UDP contact cannot be reached once the connection is gone: stored.
    p.hub.handle(NOW, BOB, Event::Closed);
    p.pump();
    p.sip(ALICE);
    p.hub.handle(NOW, CAROL, Event::Connected(Service::Sip));
    p.hub.set_peer(CAROL, "127.0.0.1:40001".parse().unwrap());
    p.register(CAROL, "carol", "sip:carol@ua.example;transport=tcp", 300);
    assert_eq!(p.send_message("carol", "x").status(), Some(202));
    p.register(
        CAROL,
        "carol",
        "sip:carol@127.0.0.1:5070;transport=udp",
        300,
    );
    assert_eq!(p.send_message("carol", "y").status(), Some(202));
    assert_eq!(p.hub.poll_connect(), None);
}

#[test]
fn sip_mwi_notifies_counts_until_drained() {
    let mut p = Pair::new(None);
    p.subscribe(CAROL, "bob", 600, None);
    let out = p.sip(CAROL);
    assert_eq!(out.len(), 2, "{out:#?}");
    let (resp, notify) = (&out[0], &out[1]);
    assert_eq!(resp.status(), Some(200));
    assert_eq!(resp.header("Expires"), Some("600"));
    let tag = resp.to().unwrap().unwrap().tag().unwrap().to_owned();
    assert_eq!(notify.method(), Some(&sip::Method::NOTIFY));
    assert_eq!(notify.uri(), Some("sip:bob@127.0.0.1:5092;transport=tcp"));
    assert_eq!(notify.header("Event"), Some("message-summary"));
    assert_eq!(
        notify.header("Subscription-State"),
        Some("active;expires=600")
    );
    assert_eq!(notify.call_id(), Some("sub-bob"));
    assert_eq!(notify.from().unwrap().unwrap().tag(), Some(tag.as_str()));
    assert_eq!(notify.to().unwrap().unwrap().tag(), Some("subbob"));
    assert_eq!(
        notify.header("Content-Type"),
        Some("application/simple-message-summary")
    );
    assert_eq!(
        body(notify),
        "Messages-Waiting: no\r\nMessage-Account: sip:offline@127.0.0.1:5060\r\nText-Message: 0/0\r\n"
    );
    p.feed(CAROL, &ok(notify));
    p.send_message("bob", "one");
    let n = p.one(CAROL);
    assert_eq!(
        summary(&n),
        (true, 1, Some("sip:offline@127.0.0.1:5060".into()))
    );
    assert_eq!(n.cseq().unwrap().unwrap().number, 2);
    p.send_message("bob", "two");
    assert_eq!(summary(&p.one(CAROL)).1, 2);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let dumped = p.sip(BOB);
    p.feed(BOB, &ok(&dumped[0]));
    assert!(p.sip(CAROL).is_empty(), "one NOTIFY once the dump settled");
    p.feed(BOB, &ok(&dumped[1]));
    assert_eq!(
        summary(&p.one(CAROL)),
        (false, 0, Some("sip:offline@127.0.0.1:5060".into()))
    );
    // Refresh: 200 and a NOTIFY; unsubscribe: 200 and a final NOTIFY.
    p.subscribe(CAROL, "bob", 300, Some(&tag));
    let out = p.sip(CAROL);
    assert_eq!(out[0].status(), Some(200));
    assert_eq!(
        out[1].header("Subscription-State"),
        Some("active;expires=300")
    );
    p.subscribe(CAROL, "bob", 0, Some(&tag));
    let out = p.sip(CAROL);
    assert_eq!(
        out[1].header("Subscription-State"),
        Some("terminated;reason=timeout")
    );
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 0);
    assert_eq!(p.send_message("bob", "after").status(), Some(202));
    assert!(p.sip(CAROL).is_empty(), "no subscription any more");
    p.subscribe(CAROL, "bob", 0, Some(&tag));
    assert_eq!(p.one(CAROL).status(), Some(481));
}

#[test]
fn sip_mwi_mutants() {
    let mut p = Pair::new(Some(Mutant::SipMwiWrongCount));
    p.subscribe(CAROL, "bob", 600, None);
    let out = p.sip(CAROL);
    assert_eq!(summary(&out[1]).1, 1);

    let mut p = Pair::new(Some(Mutant::SipNoNotifyOnDrain));
    p.subscribe(CAROL, "bob", 600, None);
    p.sip(CAROL);
    p.send_message("bob", "one");
    assert_eq!(summary(&p.one(CAROL)).1, 1);
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    let d = p.sip(BOB);
    p.feed(BOB, &ok(&d[0]));
    assert!(p.sip(CAROL).is_empty());

    let mut p = Pair::new(Some(Mutant::SipUnsubscribeStillActive));
    p.subscribe(CAROL, "bob", 0, None);
    let out = p.sip(CAROL);
    assert_eq!(
        out[1].header("Subscription-State"),
        Some("active;expires=3600")
    );
}

#[test]
fn sip_initial_subscribe_with_expires_zero_is_a_fetch() {
    let mut p = Pair::new(None);
    p.send_message("bob", "one");
    p.subscribe(CAROL, "bob", 0, None);
    let out = p.sip(CAROL);
    assert_eq!(
        out[1].header("Subscription-State"),
        Some("terminated;reason=timeout")
    );
    assert_eq!(summary(&out[1]).1, 1);
    p.send_message("bob", "two");
    assert!(p.sip(CAROL).is_empty());
}

#[test]
fn sip_subscriptions_expire_with_a_final_notify() {
    let mut p = Pair::new(None);
    p.subscribe(CAROL, "bob", 10, None);
    p.sip(CAROL);
    assert_eq!(p.hub.poll_timeout(), Some(NOW + RELAY_TIMEOUT_MS));
    p.hub.handle_timeout(NOW + 10_000);
    p.pump();
    let n = p.one(CAROL);
    assert_eq!(
        n.header("Subscription-State"),
        Some("terminated;reason=timeout")
    );
}

#[test]
fn sip_publish_state_is_merged_into_notify() {
    let mut p = Pair::new(None);
    p.subscribe(BOB, "bob", 600, None);
    p.sip(BOB);
    let voice = "Messages-Waiting: yes\r\nMessage-Account: sip:bob@127.0.0.1:5060\r\nVoice-Message: 2/8 (0/2)\r\n";
    let r = p.publish("bob", None, 3600, voice);
    assert_eq!((r.status(), r.header("Expires")), (Some(200), Some("3600")));
    let etag = r.header("SIP-ETag").unwrap().to_owned();
    let n = p.one(BOB);
    assert_eq!(
        body(&n),
        "Messages-Waiting: yes\r\nMessage-Account: sip:offline@127.0.0.1:5060\r\nText-Message: 0/0\r\nVoice-Message: 2/8 (0/2)\r\n"
    );
    // Refresh without body: a new ETag, nothing to notify.
    let r = p.publish("bob", Some(&etag), 3600, "");
    assert_eq!(r.status(), Some(200));
    let etag2 = r.header("SIP-ETag").unwrap().to_owned();
    assert_ne!(etag, etag2);
    assert!(p.sip(BOB).is_empty());
    assert_eq!(
        p.publish("bob", Some(&etag), 3600, "").status(),
        Some(412),
        "old ETag"
    );
    assert_eq!(
        p.publish("bob", Some("nope"), 3600, voice).status(),
        Some(412)
    );
    // Remove: NOTIFY back to no.
    assert_eq!(p.publish("bob", Some(&etag2), 0, "").status(), Some(200));
    assert!(!summary(&p.one(BOB)).0);
    assert_eq!(p.publish("bob", None, 3600, "").status(), Some(400));
    assert_eq!(
        p.publish("bob", None, 3600, "Messages-Waiting: maybe\r\n")
            .status(),
        Some(400)
    );

    let mut m = Pair::new(Some(Mutant::SipPublishUnknownEtagOk));
    assert_eq!(m.publish("bob", Some("nope"), 3600, "").status(), Some(200));
}

fn invite(p: &mut Pair, from: &str, sdp: &str) -> Message<'static> {
    let n = p.next_cseq();
    let req = format!(
        "INVITE sip:offline@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5094;branch=z9hG4bK-i{n}\r\nMax-Forwards: 70\r\nFrom: <sip:{from}@127.0.0.1:5060>;tag=inv{n}\r\nTo: <sip:offline@127.0.0.1:5060>\r\nCall-ID: inv{n}\r\nCSeq: 1 INVITE\r\nContact: <sip:{from}@127.0.0.1:5094;transport=tcp>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    p.feed(BOB, req.as_bytes());
    p.one(BOB)
}

const OFFER: &str = "v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 7654 TCP/MSRP *\r\na=accept-types:message/cpim text/plain\r\na=path:msrp://127.0.0.1:7654/bobsess;tcp\r\n";

fn open_msrp(p: &mut Pair, path: &str) -> Vec<Chunk<'static>> {
    p.hub
        .handle(NOW, MSRP_CONN, Event::Connected(Service::Msrp));
    let hello = Chunk::request("hello1", msrp::Method::SEND)
        .with_header("To-Path", path.to_owned())
        .with_header("From-Path", "msrp://127.0.0.1:7654/bobsess;tcp")
        .with_header("Message-ID", "m0001")
        .with_header("Byte-Range", "1-0/0");
    p.feed(MSRP_CONN, &hello.to_bytes());
    p.msrp(MSRP_CONN)
}

#[test]
fn sip_msrp_mailbox_sends_every_message_then_drains() {
    let mut p = Pair::new(None);
    p.send_message("bob", "first");
    p.send_message("bob", "second");
    p.subscribe(CAROL, "bob", 600, None);
    let out = p.sip(CAROL);
    assert_eq!(
        summary(&out[1]),
        (true, 2, Some("sip:offline@127.0.0.1:5060".into()))
    );
    let resp = invite(&mut p, "bob", OFFER);
    assert_eq!(resp.status(), Some(200));
    assert_eq!(resp.header("Content-Type"), Some("application/sdp"));
    let local_tag = resp.to().unwrap().unwrap().tag().unwrap().to_owned();
    let answer_sdp = body(&resp);
    let path = sdp::parse_offer(&answer_sdp).unwrap().path;
    assert!(path.starts_with("msrp://127.0.0.1:2855/"), "{path}");
    let chunks = open_msrp(&mut p, &path);
    assert_eq!(chunks.len(), 3, "{chunks:#?}");
    assert_eq!(chunks[0].status(), Some(200));
    assert_eq!(chunks[0].transaction, "hello1");
    assert_eq!(
        chunks[0].header("To-Path"),
        Some("msrp://127.0.0.1:7654/bobsess;tcp")
    );
    assert_eq!(chunks[0].header("From-Path"), Some(path.as_str()));
    let sends = &chunks[1..];
    for (s, text) in sends.iter().zip(["first", "second"]) {
        assert_eq!(s.method(), Some(&msrp::Method::SEND));
        assert_eq!(s.header("Content-Type"), Some("message/cpim"));
        assert_eq!(
            s.header("To-Path"),
            Some("msrp://127.0.0.1:7654/bobsess;tcp")
        );
        let b = s.body.as_deref().unwrap();
        let n = b.len();
        assert_eq!(s.header("Byte-Range"), Some(format!("1-{n}/{n}").as_str()));
        let b = std::str::from_utf8(b).unwrap();
        assert!(b.starts_with("From: \"alice\" <sip:alice@127.0.0.1:5060>\r\nTo: <sip:bob@127.0.0.1:5060>\r\nDateTime: "), "{b}");
        assert!(
            b.ends_with(&format!("\r\n\r\nContent-Type: text/plain\r\n\r\n{text}")),
            "{b}"
        );
    }
    let reply = |c: &Chunk<'_>| {
        Chunk::response(c.transaction.to_string(), 200, Some("OK".into()))
            .with_header("To-Path", path.clone())
            .with_header("From-Path", "msrp://127.0.0.1:7654/bobsess;tcp")
            .to_bytes()
    };
    p.feed(MSRP_CONN, &reply(&sends[0]));
    assert_eq!(p.hub.stored("bob", NOW), 1);
    assert!(p.sip(CAROL).is_empty());
    p.feed(MSRP_CONN, &reply(&sends[1]));
    assert_eq!(p.hub.stored("bob", NOW), 0);
    assert!(!summary(&p.one(CAROL)).0);
    // BYE ends the session and closes the MSRP connection.
    let bye = format!(
        "BYE sip:127.0.0.1:5060;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5094;branch=z9hG4bK-bye\r\nFrom: <sip:bob@127.0.0.1:5060>;tag=inv{n}\r\nTo: <sip:offline@127.0.0.1:5060>;tag={local_tag}\r\nCall-ID: inv{n}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        n = p.cseq
    );
    p.feed(BOB, bye.as_bytes());
    assert_eq!(p.one(BOB).status(), Some(200));
    assert!(p.closed.contains(&MSRP_CONN));
    p.feed(BOB, bye.as_bytes());
    assert_eq!(p.one(BOB).status(), Some(481));
}

#[test]
fn sip_msrp_mailbox_plain_text_unknown_session_and_mutant() {
    let mut p = Pair::new(Some(Mutant::SipMsrpNoDrain));
    p.send_message("bob", "only");
    let plain = OFFER.replace("message/cpim text/plain", "text/plain");
    let resp = invite(&mut p, "bob", &plain);
    let path = sdp::parse_offer(&body(&resp)).unwrap().path;
    let chunks = open_msrp(&mut p, "msrp://127.0.0.1:2855/nosuchsession;tcp");
    assert_eq!(chunks[0].status(), Some(481));
    p.hub.handle(NOW, MSRP_CONN, Event::Closed);
    let chunks = open_msrp(&mut p, &path);
    assert_eq!(chunks.len(), 2);
    let send = &chunks[1];
    assert_eq!(send.header("Content-Type"), Some("text/plain"));
    assert_eq!(send.body.as_deref(), Some(&b"only"[..]));
    let ok = Chunk::response(send.transaction.to_string(), 200, Some("OK".into()))
        .with_header("To-Path", path.clone())
        .with_header("From-Path", "msrp://127.0.0.1:7654/bobsess;tcp");
    p.feed(MSRP_CONN, &ok.to_bytes());
    assert_eq!(p.hub.stored("bob", NOW), 1, "the mutant keeps it");
}

#[test]
fn sip_invite_rules() {
    let mut p = Pair::new(None);
    assert_eq!(
        invite(&mut p, "bob", "v=0\r\nm=audio 4000 RTP/AVP 0\r\n").status(),
        Some(488)
    );
    assert_eq!(invite(&mut p, "offline", OFFER).status(), Some(403));
    let other = "INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    p.feed(ALICE, other.as_bytes());
    assert_eq!(p.one(ALICE).status(), Some(480));
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
fn sip_stored_messages_expire_undelivered() {
    let config = Config {
        seed: 1,
        expiry_ms: 1000,
        ..Config::new("127.0.0.1:5060", "127.0.0.1:2855")
    };
    let mut hub = Hub::new(config, Mailbox::in_memory().unwrap());
    hub.handle(NOW, ALICE, Event::Connected(Service::Sip));
    let mut p = Pair {
        hub,
        wire: HashMap::new(),
        closed: Vec::new(),
        cseq: 0,
    };
    p.send_message("bob", "stale");
    assert_eq!(p.hub.poll_timeout(), Some(NOW + 1000));
    p.hub.handle_timeout(NOW + 1000);
    assert_eq!(p.hub.stored("bob", NOW), 0);
    p.hub.handle(NOW, BOB, Event::Connected(Service::Sip));
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    assert!(p.sip(BOB).is_empty());
}

#[test]
fn sip_store_survives_restart_of_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut p = Pair::with(None, Mailbox::open(dir.path()).unwrap());
        assert_eq!(p.send_message("bob", "durable 1").status(), Some(202));
        assert_eq!(p.send_message("bob", "durable 2").status(), Some(202));
        p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
        let d = p.sip(BOB);
        p.feed(BOB, &ok(&d[0]));
    }
    let mut p = Pair::with(None, Mailbox::open(dir.path()).unwrap());
    assert_eq!(
        p.hub.stored("bob", NOW),
        1,
        "the acknowledged one is gone, the other kept"
    );
    p.register(BOB, "bob", "sip:bob@127.0.0.1:5090", 300);
    assert_eq!(
        p.sip(BOB).iter().map(body).collect::<Vec<_>>(),
        ["durable 2"]
    );
}

#[test]
fn sip_uri_parts() {
    let u = Uri::parse("sip:bob:pw@[::1]:5070;transport=TCP;ob?x=y").unwrap();
    assert_eq!((u.user, u.host, u.port), (Some("bob"), "[::1]", Some(5070)));
    assert_eq!(u.param("transport"), Some("TCP"));
    assert!(u.has_param("ob"));
    assert_eq!(u.socket_addr(), Some("[::1]:5070".parse().unwrap()));
    let u = Uri::parse("SIP:127.0.0.1").unwrap();
    assert_eq!(
        (u.user, u.socket_addr()),
        (None, Some("127.0.0.1:5060".parse().unwrap()))
    );
    assert_eq!(Uri::parse("sips:bob@h"), None);
    assert_eq!(Uri::parse("sip:@h"), None);
    assert_eq!(Uri::parse("sip:h:99999"), None);
    assert_eq!(
        Uri::parse("sip:bob@host.example").unwrap().socket_addr(),
        None
    );
    assert_eq!(split_host_port("[::1]:80"), ("[::1]", "80"));
    assert_eq!(split_host_port("127.0.0.1:5060"), ("127.0.0.1", "5060"));
}

/// The driver over loopback: connection reuse when the Contact is the connection's source,
/// an outbound connection to a Contact elsewhere, and the sender's 200 coming back.
#[tokio::test]
async fn sip_driver_tcp_reuse_and_outbound() {
    use crate::{Server, ServerConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn read_msg(s: &mut TcpStream, buf: &mut Vec<u8>) -> Message<'static> {
        loop {
            if let Ok(Status::Complete((m, n))) = sip::parse(buf) {
                let m = m.into_owned();
                buf.drain(..n);
                return m;
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "closed");
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    let server = Server::start(ServerConfig {
        fetion: None,
        msnp: None,
        gateway: None,
        seed: Some(3),
        ..ServerConfig::local()
    })
    .await
    .unwrap();
    let addr = server.addr(Service::Sip).unwrap();
    assert!(server.addr(Service::Msrp).is_some());
    let host = addr.to_string();
    // bob registers from his own socket with Contact = that socket's address.
    let mut bob = TcpStream::connect(addr).await.unwrap();
    let me = bob.local_addr().unwrap();
    let reg = |user: &str, contact: &str| {
        format!(
            "REGISTER sip:{host} SIP/2.0\r\nVia: SIP/2.0/TCP {contact};branch=z9hG4bK-r{user}\r\nFrom: <sip:{user}@{host}>;tag=1\r\nTo: <sip:{user}@{host}>\r\nCall-ID: r-{user}\r\nCSeq: 1 REGISTER\r\nContact: <sip:{user}@{contact};transport=tcp>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
        )
    };
    bob.write_all(reg("bob", &me.to_string()).as_bytes())
        .await
        .unwrap();
    let mut bob_buf = Vec::new();
    assert_eq!(read_msg(&mut bob, &mut bob_buf).await.status(), Some(200));
    // carol's UA listens elsewhere; she registers from a throwaway connection.
    let carol_ua = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ua_addr = carol_ua.local_addr().unwrap();
    let mut reg_conn = TcpStream::connect(addr).await.unwrap();
    reg_conn
        .write_all(reg("carol", &ua_addr.to_string()).as_bytes())
        .await
        .unwrap();
    let mut reg_buf = Vec::new();
    assert_eq!(
        read_msg(&mut reg_conn, &mut reg_buf).await.status(),
        Some(200)
    );

    let mut alice = TcpStream::connect(addr).await.unwrap();
    let mut alice_buf = Vec::new();
    let msg = |to: &str, n: u32| {
        format!(
            "MESSAGE sip:{to}@{host} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-a{n}\r\nFrom: <sip:alice@{host}>;tag=a\r\nTo: <sip:{to}@{host}>\r\nCall-ID: a{n}\r\nCSeq: {n} MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
        )
    };
    alice.write_all(msg("bob", 1).as_bytes()).await.unwrap();
    let relayed = read_msg(&mut bob, &mut bob_buf).await;
    assert_eq!(relayed.method(), Some(&sip::Method::MESSAGE));
    bob.write_all(&ok(&relayed)).await.unwrap();
    assert_eq!(
        read_msg(&mut alice, &mut alice_buf).await.status(),
        Some(200)
    );

    alice.write_all(msg("carol", 2).as_bytes()).await.unwrap();
    let (mut ua, _) = tokio::time::timeout(std::time::Duration::from_secs(5), carol_ua.accept())
        .await
        .unwrap()
        .unwrap();
    let mut ua_buf = Vec::new();
    let relayed = read_msg(&mut ua, &mut ua_buf).await;
    assert_eq!(relayed.call_id(), Some("a2"));
    ua.write_all(&ok(&relayed)).await.unwrap();
    assert_eq!(
        read_msg(&mut alice, &mut alice_buf).await.status(),
        Some(200)
    );

    // dave's Contact points at a closed port: the connect fails, the message is stored.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    reg_conn
        .write_all(reg("dave", &dead_addr.to_string()).as_bytes())
        .await
        .unwrap();
    assert_eq!(
        read_msg(&mut reg_conn, &mut reg_buf).await.status(),
        Some(200)
    );
    alice.write_all(msg("dave", 3).as_bytes()).await.unwrap();
    assert_eq!(
        read_msg(&mut alice, &mut alice_buf).await.status(),
        Some(202)
    );
    server.shutdown().await;
}
