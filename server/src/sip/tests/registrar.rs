//! The registrar (`registrar.rs`): bindings, their expiry, `Contact: *`.

use super::*;

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
