//! PUBLISH (`publish.rs`): published state merged into NOTIFY.

use super::*;

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
