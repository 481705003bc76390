//! The offline store (`offline.rs`): 202, the dump after REGISTER, its mutants, expiry,
//! durability.

use super::*;

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
