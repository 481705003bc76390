//! The MSRP mailbox (`mailbox.rs`): INVITE, SDP answer, SENDs, drain.

use super::*;

/// The `a=path` of the SDP answer in `resp`, which must be a strict RFC 8866 description.
fn answer_path(resp: &Message<'_>) -> String {
    let answer = resp.sdp(&sdp::Limits::default()).unwrap();
    let media = answer.media().next().unwrap();
    assert!(media.is_msrp_tcp());
    media.path().unwrap().join(" ")
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
    let path = answer_path(&resp);
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
    let path = answer_path(&resp);
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
