//! Message-waiting indication (`mwi.rs`): NOTIFY counts, fetches, expiry, mutants.

use super::*;

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
