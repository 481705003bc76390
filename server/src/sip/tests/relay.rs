//! The relay (`relay.rs`): relayed MESSAGEs, failed relays stored, reaching a Contact
//! elsewhere, and the driver over loopback.

use super::*;

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
