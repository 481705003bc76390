//! Sans-IO tests of the LeanCloud hub: whole conversations in memory, in the readable JSON
//! form of the codec.

use std::collections::{HashMap, HashSet, VecDeque};

use imspec_codec::leancloud::{self as lc, GenericCommand, Subprotocol};
use serde_json::{Value, json};

use super::*;
use crate::db::Open as _;

const T0: u64 = 1_795_310_486_000;

struct Pair {
    hub: Hub,
    now: u64,
    inbox: HashMap<ConnId, VecDeque<GenericCommand>>,
    closed: HashSet<ConnId>,
    formats: HashMap<ConnId, lc::Format>,
}

impl Pair {
    fn new(mutant: Option<Mutant>) -> Self {
        Self::with_store(mutant, Store::in_memory().unwrap())
    }

    fn with_store(mutant: Option<Mutant>, store: Store) -> Self {
        let config = Config {
            mutant,
            seed: 7,
            limits: Limits::default(),
        };
        Self {
            hub: Hub::new(config, store),
            now: T0,
            inbox: HashMap::new(),
            closed: HashSet::new(),
            formats: HashMap::new(),
        }
    }

    fn connect(&mut self, conn: ConnId, proto: &str) {
        let p = Subprotocol::parse(proto).unwrap();
        self.formats.insert(conn, p.format);
        self.hub.handle(self.now, conn, Event::Connected(p));
        self.drain();
    }

    fn raw(&mut self, conn: ConnId, bytes: &[u8]) {
        self.now += 1;
        self.hub.handle(self.now, conn, Event::Frame(bytes));
        self.drain();
    }

    fn send(&mut self, conn: ConnId, cmd: Value) {
        let cmd: GenericCommand = serde_json::from_value(cmd).unwrap();
        let format = self.hub.subprotocol(conn).unwrap().format;
        let mut bytes = Vec::new();
        lc::encode(&cmd, format, &mut bytes);
        self.raw(conn, &bytes);
    }

    fn drop_conn(&mut self, conn: ConnId) {
        self.now += 1;
        self.hub.handle(self.now, conn, Event::Closed);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(o) = self.hub.poll_output() {
            match o {
                Output::Send { conn, bytes } => {
                    assert!(!self.closed.contains(&conn), "output after close");
                    let format = self.formats[&conn];
                    let cmd = lc::decode(&bytes, format).unwrap();
                    self.inbox.entry(conn).or_default().push_back(cmd);
                }
                Output::Close { conn } => {
                    self.closed.insert(conn);
                }
            }
        }
    }

    /// Everything `conn` received since the last call, as JSON.
    fn take(&mut self, conn: ConnId) -> Vec<Value> {
        self.inbox
            .remove(&conn)
            .unwrap_or_default()
            .into_iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect()
    }

    fn take_one(&mut self, conn: ConnId) -> Value {
        let mut v = self.take(conn);
        assert_eq!(v.len(), 1, "{v:#?}");
        v.remove(0)
    }

    fn open(&mut self, conn: ConnId, peer: &str, session: Value) -> Value {
        self.send(
            conn,
            json!({"cmd": "session", "op": "open", "appId": "test", "peerId": peer, "i": 1,
                   "sessionMessage": session}),
        );
        let all = self.take(conn);
        let opened = all.first().cloned().unwrap();
        assert_eq!(opened["op"], "opened", "{all:#?}");
        // Re-queue the pushes that followed the reply.
        let rest: VecDeque<GenericCommand> = all
            .into_iter()
            .skip(1)
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        if !rest.is_empty() {
            self.inbox.insert(conn, rest);
        }
        opened
    }

    fn login(&mut self, conn: ConnId, peer: &str) -> Value {
        self.connect(conn, "lc.protobuf2.3");
        self.open(conn, peer, json!({"ua": "js/4.3.1", "configBitmap": 59}))
    }

    fn start(&mut self, conn: ConnId, members: &[&str]) -> String {
        self.send(
            conn,
            json!({"cmd": "conv", "op": "start", "i": 2,
                   "convMessage": {"m": members, "attr": {"data": "{\"name\":\"n\"}"}}}),
        );
        let r = self.take(conn).remove(0);
        assert_eq!(r["op"], "started", "{r}");
        r["convMessage"]["cid"].as_str().unwrap().to_owned()
    }

    fn direct(&mut self, conn: ConnId, cid: &str, text: &str, extra: Value) -> (String, i64) {
        let mut dm = json!({"msg": text, "cid": cid});
        if let (Some(d), Value::Object(e)) = (dm.as_object_mut(), extra) {
            d.extend(e);
        }
        self.send(conn, json!({"cmd": "direct", "i": 3, "directMessage": dm}));
        let r = self.take(conn).remove(0);
        assert_eq!(r["cmd"], "ack", "{r}");
        assert_eq!(r["i"], 3);
        (
            r["ackMessage"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            r["ackMessage"]["t"].as_i64().unwrap(),
        )
    }

    fn logs(&mut self, conn: ConnId, q: Value) -> Vec<String> {
        self.send(conn, json!({"cmd": "logs", "i": 9, "logsMessage": q}));
        let r = self.take_one(conn);
        assert_eq!(r["cmd"], "logs", "{r}");
        r["logsMessage"]["logs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|l| l["data"].as_str().unwrap_or("<none>").to_owned())
            .collect()
    }
}

fn cmds(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|c| {
            format!(
                "{}{}",
                c["cmd"].as_str().unwrap_or("?"),
                c["op"]
                    .as_str()
                    .map(|o| format!("/{o}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn leancloud_session_open_direct_ack_and_delivery() {
    let mut p = Pair::new(None);
    let opened = p.login(1, "alice");
    assert_eq!(opened["i"], 1);
    assert_eq!(opened["peerId"], "alice");
    assert!(opened["serverTs"].as_i64().unwrap() > 0);
    assert_eq!(opened["sessionMessage"]["stTtl"], SESSION_TTL_S);
    assert_eq!(opened["sessionMessage"]["st"].as_str().unwrap().len(), 32);
    p.login(2, "bob");
    let cid = p.start(1, &["bob"]);
    assert_eq!(cid.len(), 24);
    let joined = p.take_one(2);
    assert_eq!(joined["op"], "joined");
    assert_eq!(joined["convMessage"]["initBy"], "alice");
    assert!(joined.get("i").is_none(), "pushes carry no i");

    let (uid, t) = p.direct(
        1,
        &cid,
        "{\"_lctext\":\"hi\",\"_lctype\":-1}",
        json!({"dt": "d1"}),
    );
    assert_eq!(uid.len(), 20);
    let d = p.take_one(2);
    assert_eq!(d["cmd"], "direct");
    assert!(d.get("i").is_none());
    assert_eq!(d["peerId"], "bob");
    let dm = &d["directMessage"];
    assert_eq!(dm["id"], uid.as_str());
    assert_eq!(dm["cid"], cid.as_str());
    assert_eq!(dm["fromPeerId"], "alice");
    assert_eq!(dm["timestamp"], t);
    assert_eq!(
        dm["msg"], "{\"_lctext\":\"hi\",\"_lctype\":-1}",
        "content byte for byte"
    );

    // Timestamps strictly increase even when the clock stands still.
    p.now -= 10;
    let (_, t2) = p.direct(1, &cid, "2", json!({}));
    assert!(t2 > t);

    p.send(1, json!({"cmd": "session", "op": "close", "i": 7}));
    let closed = p.take_one(1);
    assert_eq!(
        (closed["op"].as_str(), closed["i"].as_i64()),
        (Some("closed"), Some(7))
    );
    p.send(
        1,
        json!({"cmd": "direct", "i": 8, "directMessage": {"cid": cid, "msg": "x"}}),
    );
    let e = p.take_one(1);
    assert_eq!(e["cmd"], "error");
    assert_eq!(e["i"], 8);
    assert_eq!(e["errorMessage"]["code"], code::SESSION_REQUIRED);
}

#[test]
fn leancloud_commands_before_open_are_refused_with_4105() {
    for mutant in [None, Some(Mutant::LcAcceptBeforeOpen)] {
        let mut p = Pair::new(mutant);
        p.connect(1, "lc.proto2base64.3");
        p.send(
            1,
            json!({"cmd": "conv", "op": "start", "i": 5, "peerId": "alice",
                         "convMessage": {"m": ["bob"]}}),
        );
        let r = p.take_one(1);
        if mutant.is_none() {
            assert_eq!(r["cmd"], "error");
            assert_eq!(r["i"], 5);
            assert_eq!(r["errorMessage"]["code"], 4105);
            assert_eq!(
                r["errorMessage"]["reason"],
                "Message sent before session opened."
            );
        } else {
            assert_eq!(r["op"], "started", "the mutant serves it");
        }
        // Echo is keep-alive and needs no session; a push-style ack gets an error push.
        p.send(1, json!({"cmd": "echo", "i": 6}));
        assert_eq!(p.take_one(1)["i"], 6);
    }
}

#[test]
fn leancloud_every_request_gets_one_reply_with_its_i() {
    for mutant in [None, Some(Mutant::LcReplyWrongI)] {
        let mut p = Pair::new(mutant);
        p.connect(1, "lc.protobuf2.3");
        p.send(
            1,
            json!({"cmd": "session", "op": "open", "peerId": "a", "i": 41}),
        );
        let r = p.take_one(1);
        assert_eq!(r["i"] == 41, mutant.is_none(), "{r}");
        for (i, cmd) in [
            json!({"cmd": "echo"}),
            json!({"cmd": "conv", "op": "query", "convMessage": {}}),
            json!({"cmd": "session", "op": "query", "sessionMessage": {"sessionPeerIds": ["a", "z"]}}),
            json!({"cmd": "conv", "op": "mute", "convMessage": {"cid": "x"}}),
            json!({"cmd": "logs", "logsMessage": {"cid": "nope"}}),
        ]
        .into_iter()
        .enumerate()
        {
            let mut cmd = cmd;
            let i = 100 + i64::try_from(i).unwrap();
            cmd["i"] = i.into();
            p.send(1, cmd.clone());
            let r = p.take_one(1);
            assert_eq!(r["i"] == i, mutant.is_none(), "{cmd} → {r}");
        }
    }
}

#[test]
fn leancloud_session_query_lists_online_peers() {
    let mut p = Pair::new(None);
    p.login(1, "a");
    p.send(
        1,
        json!({"cmd": "session", "op": "query", "i": 4,
                     "sessionMessage": {"sessionPeerIds": ["a", "b"]}}),
    );
    let r = p.take_one(1);
    assert_eq!(r["op"], "query_result");
    assert_eq!(r["sessionMessage"]["onlineSessionPeerIds"], json!(["a"]));
}

#[test]
fn leancloud_tag_conflict_logs_the_older_device_out() {
    for mutant in [None, Some(Mutant::LcNoConflictClose)] {
        let mut p = Pair::new(mutant);
        p.connect(1, "lc.protobuf2.3");
        p.open(1, "tom", json!({"tag": "Mobile"}));
        p.connect(2, "lc.protobuf2.3");
        p.open(2, "tom", json!({"tag": "Mobile"}));
        let kicked = p.take(1);
        if mutant.is_some() {
            assert!(kicked.is_empty(), "{kicked:?}");
            continue;
        }
        assert_eq!(kicked.len(), 1, "{kicked:?}");
        assert_eq!(kicked[0]["op"], "closed");
        assert!(kicked[0].get("i").is_none());
        assert_eq!(kicked[0]["sessionMessage"]["code"], 4111);
        // The kicked device is no session any more.
        p.send(
            1,
            json!({"cmd": "conv", "op": "query", "i": 3, "convMessage": {}}),
        );
        assert_eq!(p.take_one(1)["errorMessage"]["code"], 4105);
        // Another tag, or no tag, coexists.
        p.connect(3, "lc.protobuf2.3");
        p.open(3, "tom", json!({"tag": "Web"}));
        p.connect(4, "lc.protobuf2.3");
        p.open(4, "tom", json!({}));
        p.connect(5, "lc.protobuf2.3");
        p.open(5, "tom", json!({}));
        for c in [2, 3, 4, 5] {
            assert!(p.take(c).is_empty(), "conn {c} undisturbed");
        }
    }
}

#[test]
fn leancloud_conflicting_reconnect_is_refused() {
    for mutant in [None, Some(Mutant::LcReconnectKicksOld)] {
        let mut p = Pair::new(mutant);
        p.connect(1, "lc.protobuf2.3");
        let first = p.open(1, "tom", json!({"tag": "Mobile"}));
        let st = first["sessionMessage"]["st"].as_str().unwrap().to_owned();
        p.connect(2, "lc.protobuf2.3");
        p.open(2, "tom", json!({"tag": "Mobile"}));
        assert_eq!(p.take(1)[0]["sessionMessage"]["code"], 4111);
        // The kicked device reconnects automatically: r=true, its token, no tag.
        p.drop_conn(1);
        p.connect(3, "lc.protobuf2.3");
        p.send(
            3,
            json!({"cmd": "session", "op": "open", "peerId": "tom", "i": 1,
                         "sessionMessage": {"r": true, "st": st}}),
        );
        let r = p.take(3);
        if mutant.is_none() {
            assert_eq!(cmds(&r), ["error"]);
            assert_eq!(r[0]["i"], 1);
            assert_eq!(r[0]["errorMessage"]["code"], 4111);
            assert!(p.take(2).is_empty(), "the newer device stays");
        } else {
            assert_eq!(cmds(&r), ["session/opened"]);
            assert_eq!(p.take(2)[0]["sessionMessage"]["code"], 4111);
        }
    }
    // A reconnect without a conflict is accepted.
    let mut p = Pair::new(None);
    p.connect(1, "lc.protobuf2.3");
    let first = p.open(1, "tom", json!({"tag": "Mobile"}));
    p.drop_conn(1);
    p.connect(2, "lc.protobuf2.3");
    let again = p.open(
        2,
        "tom",
        json!({"r": true, "st": first["sessionMessage"]["st"]}),
    );
    assert_eq!(again["sessionMessage"]["st"], first["sessionMessage"]["st"]);
}

#[test]
fn leancloud_messages_fan_out_to_every_device_and_the_senders_others() {
    for mutant in [None, Some(Mutant::LcNoSelfFanout)] {
        let mut p = Pair::new(mutant);
        p.login(1, "alice");
        p.login(2, "alice");
        p.login(3, "bob");
        p.login(4, "bob");
        let cid = p.start(1, &["bob"]);
        p.take(3);
        p.take(4);
        p.direct(1, &cid, "hi", json!({}));
        assert_eq!(cmds(&p.take(3)), ["direct"]);
        assert_eq!(cmds(&p.take(4)), ["direct"]);
        let own = p.take(2);
        assert_eq!(own.is_empty(), mutant.is_some(), "{own:?}");
        assert!(p.take(1).is_empty(), "not echoed to the sending session");
    }
}

#[test]
fn leancloud_two_clients_share_one_socket() {
    let mut p = Pair::new(None);
    p.connect(1, "lc.protobuf2.3");
    p.open(1, "alice", json!({}));
    p.send(
        1,
        json!({"cmd": "session", "op": "open", "peerId": "bob", "i": 2}),
    );
    assert_eq!(p.take_one(1)["peerId"], "bob");
    p.send(
        1,
        json!({"cmd": "conv", "op": "start", "i": 3, "peerId": "alice",
                     "convMessage": {"m": ["bob"]}}),
    );
    let out = p.take(1);
    assert_eq!(cmds(&out), ["conv/started", "conv/joined"]);
    assert_eq!(out[0]["peerId"], "alice");
    assert_eq!(
        out[1]["peerId"], "bob",
        "the push names the session it is for"
    );
}

#[test]
fn leancloud_direct_to_unknown_or_foreign_conversation_fails_in_the_ack() {
    let mut p = Pair::new(None);
    p.login(1, "alice");
    p.login(2, "eve");
    let cid = p.start(1, &["bob"]);
    for (conn, cid) in [(1, "nope"), (2, cid.as_str())] {
        p.send(
            conn,
            json!({"cmd": "direct", "i": 3, "directMessage": {"cid": cid, "msg": "x"}}),
        );
        let r = p.take_one(conn);
        assert_eq!(r["cmd"], "ack");
        assert_eq!(r["ackMessage"]["code"], 4401);
        assert!(r["ackMessage"].get("uid").is_none());
    }
}

#[test]
fn leancloud_ack_carries_uid_unless_mutant() {
    let mut p = Pair::new(Some(Mutant::LcAckWithoutUid));
    p.login(1, "alice");
    let cid = p.start(1, &["bob"]);
    let (uid, t) = p.direct(1, &cid, "x", json!({}));
    assert!(uid.is_empty() && t > 0);
}

#[test]
fn leancloud_repeated_dt_is_acknowledged_once() {
    for mutant in [None, Some(Mutant::LcNoDedup)] {
        let mut p = Pair::new(mutant);
        p.login(1, "alice");
        p.login(2, "bob");
        let cid = p.start(1, &["bob"]);
        p.take(2);
        let a = p.direct(1, &cid, "x", json!({"dt": "same"}));
        let b = p.direct(1, &cid, "x", json!({"dt": "same"}));
        assert_eq!(a == b, mutant.is_none());
        let delivered = p.take(2).len();
        assert_eq!(delivered, if mutant.is_none() { 1 } else { 2 });
        assert_eq!(p.logs(1, json!({"cid": cid})).len(), delivered);
    }
}

#[test]
fn leancloud_receipts_only_when_asked_and_only_for_two_members() {
    for mutant in [None, Some(Mutant::LcReceiptInGroup)] {
        let mut p = Pair::new(mutant);
        p.login(1, "tom");
        p.login(2, "jerry");
        p.login(3, "spike");
        let pair = p.start(1, &["jerry"]);
        let group = p.start(1, &["jerry", "spike"]);
        p.take(2);
        p.take(3);
        // Delivered receipt on the receiver's ack, only for r=true.
        let (plain, t_plain) = p.direct(1, &pair, "no receipt", json!({}));
        let (uid, t) = p.direct(1, &pair, "receipt", json!({"r": true}));
        p.take(2);
        p.send(
            2,
            json!({"cmd": "ack", "ackMessage": {"cid": pair, "fromts": t_plain, "tots": t}}),
        );
        assert!(p.take(2).is_empty(), "a push-style ack gets no reply");
        let rcp = p.take_one(1);
        assert_eq!(rcp["cmd"], "rcp");
        assert_eq!(rcp["rcpMessage"]["id"], uid.as_str());
        assert_ne!(rcp["rcpMessage"]["id"], plain.as_str());
        assert_eq!(rcp["rcpMessage"]["cid"], pair.as_str());
        assert_eq!(rcp["rcpMessage"]["from"], "jerry");
        assert!(rcp["rcpMessage"].get("read").is_none_or(|r| r == false));
        assert!(rcp["rcpMessage"]["t"].as_i64().unwrap() >= t);
        // The same ack again: no second receipt.
        p.send(
            2,
            json!({"cmd": "ack", "ackMessage": {"cid": pair, "fromts": t, "tots": t}}),
        );
        assert!(p.take(1).is_empty());
        // Read receipt.
        p.send(2, json!({"cmd": "read", "readMessage": {"convs": [{"cid": pair, "timestamp": t, "mid": uid}]}}));
        let read = p.take_one(1);
        assert_eq!(read["rcpMessage"]["read"], true);
        assert_eq!(read["rcpMessage"]["id"], uid.as_str());
        // max_read reports the other member's cursors.
        p.send(
            1,
            json!({"cmd": "conv", "op": "max_read", "i": 5, "convMessage": {"cid": pair}}),
        );
        let mr = p.take_one(1);
        assert_eq!(mr["op"], "max_read");
        assert_eq!(mr["convMessage"]["maxReadTimestamp"], t);
        assert_eq!(mr["convMessage"]["maxAckTimestamp"], t);
        // Three members: no receipts (unless the mutant).
        let (_, tg) = p.direct(1, &group, "group", json!({"r": true}));
        p.take(2);
        p.take(3);
        p.send(
            2,
            json!({"cmd": "ack", "ackMessage": {"cid": group, "fromts": tg, "tots": tg}}),
        );
        assert_eq!(p.take(1).len(), usize::from(mutant.is_some()));
    }
}

#[test]
fn leancloud_transient_messages_are_not_stored_nor_receipted() {
    for mutant in [None, Some(Mutant::LcTransientStored)] {
        let mut p = Pair::new(mutant);
        p.login(1, "tom");
        p.login(2, "jerry");
        let cid = p.start(1, &["jerry", "offline"]);
        p.take(2);
        let (uid, t) = p.direct(1, &cid, "typing", json!({"transient": true, "r": true}));
        assert!(!uid.is_empty());
        let d = p.take_one(2);
        assert_eq!(d["directMessage"]["transient"], true);
        p.send(
            2,
            json!({"cmd": "ack", "ackMessage": {"cid": cid, "fromts": t, "tots": t}}),
        );
        assert!(p.take(1).is_empty(), "no receipt");
        let stored = p.logs(1, json!({"cid": cid}));
        assert_eq!(stored.is_empty(), mutant.is_none(), "{stored:?}");
        // The offline member hears nothing of it at login.
        p.login(3, "offline");
        assert_eq!(p.take(3).is_empty(), mutant.is_none());
    }
}

#[test]
fn leancloud_will_message_only_on_unexpected_disconnect() {
    for mutant in [None, Some(Mutant::LcWillOnLogout)] {
        let mut p = Pair::new(mutant);
        p.login(1, "tom");
        p.login(2, "jerry");
        let cid = p.start(1, &["jerry"]);
        p.take(2);
        p.direct(1, &cid, "first will", json!({"will": true}));
        p.direct(1, &cid, "tom is gone", json!({"will": true}));
        assert!(p.take(2).is_empty(), "a will is not delivered when sent");
        // Logout: no will (unless the mutant).
        p.send(1, json!({"cmd": "session", "op": "close", "i": 4}));
        p.take(1);
        let got = p.take(2);
        assert_eq!(got.len(), usize::from(mutant.is_some()), "{got:?}");
        // A new will, then the socket drops: the last will goes out, once, not stored.
        p.open(1, "tom", json!({}));
        p.direct(1, &cid, "again", json!({"will": true}));
        p.direct(1, &cid, "tom lost connection", json!({"will": true}));
        p.drop_conn(1);
        let w = p.take_one(2);
        assert_eq!(w["directMessage"]["msg"], "tom lost connection");
        assert_eq!(w["directMessage"]["fromPeerId"], "tom");
        let logs = p.logs(2, json!({"cid": cid}));
        assert!(
            !logs.iter().any(|l| l.contains("will") || l.contains("tom")),
            "{logs:?}"
        );
    }
}

#[test]
fn leancloud_will_waits_for_the_users_last_session() {
    let mut p = Pair::new(None);
    p.login(1, "tom");
    p.login(2, "tom");
    p.login(3, "jerry");
    let cid = p.start(1, &["jerry"]);
    p.take(3);
    p.direct(1, &cid, "bye", json!({"will": true}));
    p.drop_conn(1);
    assert!(p.take(3).is_empty(), "tom is still online elsewhere");
    p.drop_conn(2);
    assert_eq!(p.take_one(3)["directMessage"]["msg"], "bye");
}

#[test]
fn leancloud_patch_only_by_the_sender_and_recall_drops_content() {
    for mutant in [
        None,
        Some(Mutant::LcPatchByAnyone),
        Some(Mutant::LcRecallKeepsContent),
    ] {
        let mut p = Pair::new(mutant);
        p.login(1, "tom");
        p.login(2, "jerry");
        let cid = p.start(1, &["jerry"]);
        p.take(2);
        let (uid, t) = p.direct(1, &cid, "old", json!({}));
        p.take(2);
        // Jerry may not touch Tom's message.
        p.send(
            2,
            json!({"cmd": "patch", "op": "modify", "i": 6, "patchMessage": {"patches": [
            {"cid": cid, "mid": uid, "timestamp": t, "data": "jerry's"}]}}),
        );
        let r = p.take_one(2);
        if mutant == Some(Mutant::LcPatchByAnyone) {
            assert_eq!(r["op"], "modified");
            continue;
        }
        assert_eq!(r["cmd"], "error");
        assert_eq!(r["i"], 6);
        assert_eq!(r["errorMessage"]["code"], 4403);
        assert!(p.take(1).is_empty());
        // Unknown message.
        p.send(
            1,
            json!({"cmd": "patch", "op": "modify", "i": 7, "patchMessage": {"patches": [
            {"cid": cid, "mid": "nope", "timestamp": 1}]}}),
        );
        assert_eq!(p.take_one(1)["errorMessage"]["code"], 4404);
        // Tom edits.
        p.send(
            1,
            json!({"cmd": "patch", "op": "modify", "i": 8, "patchMessage": {"patches": [
            {"cid": cid, "mid": uid, "timestamp": t, "data": "new", "mentionPids": ["jerry"]}]}}),
        );
        let r = p.take_one(1);
        assert_eq!(
            (r["op"].as_str(), r["i"].as_i64()),
            (Some("modified"), Some(8))
        );
        let patch_time = r["patchMessage"]["lastPatchTime"].as_i64().unwrap();
        let push = p.take_one(2);
        assert_eq!(push["cmd"], "patch");
        assert!(push.get("i").is_none());
        let item = &push["patchMessage"]["patches"][0];
        assert_eq!(item["mid"], uid.as_str());
        assert_eq!(item["data"], "new");
        assert_eq!(item["from"], "tom");
        assert_eq!(item["timestamp"], t);
        assert_eq!(item["patchTimestamp"], patch_time);
        assert_eq!(item["mentionPids"], json!(["jerry"]));
        // Tom recalls.
        p.send(
            1,
            json!({"cmd": "patch", "op": "modify", "i": 9, "patchMessage": {"patches": [
            {"cid": cid, "mid": uid, "timestamp": t, "recall": true}]}}),
        );
        p.take(1);
        let push = p.take_one(2);
        let item = &push["patchMessage"]["patches"][0];
        assert_eq!(item["recall"], true);
        let keeps = mutant == Some(Mutant::LcRecallKeepsContent);
        let want = if keeps { "new" } else { RECALLED };
        assert_eq!(item["data"], want, "{item}");
        assert_eq!(p.logs(2, json!({"cid": cid})), [want]);
        // Patch sync at login: jerry's second device gets the patch after lastPatchTime.
        p.connect(3, "lc.protobuf2.3");
        p.open(3, "jerry", json!({"lastPatchTime": patch_time - 1}));
        let sync: Vec<Value> = p
            .take(3)
            .into_iter()
            .filter(|c| c["cmd"] == "patch")
            .collect();
        assert_eq!(sync.len(), 1, "{sync:?}");
        assert_eq!(sync[0]["patchMessage"]["patches"][0]["recall"], true);
    }
}

#[test]
fn leancloud_logs_newest_first_pages_listed_oldest_first() {
    for mutant in [None, Some(Mutant::LcLogsOldestFirst)] {
        let mut p = Pair::new(mutant);
        p.login(1, "tom");
        let cid = p.start(1, &["jerry"]);
        let mut ts = Vec::new();
        for i in 0..25 {
            ts.push(p.direct(1, &cid, &format!("m{i}"), json!({})).1);
        }
        let page = p.logs(1, json!({"cid": cid, "l": 10}));
        if mutant.is_some() {
            assert_eq!(page[0], "m0", "{page:?}");
            continue;
        }
        let want: Vec<String> = (15..25).map(|i| format!("m{i}")).collect();
        assert_eq!(page, want, "the newest 10, listed oldest first");
        // Next page below the first of this one (the SDK's iterator).
        let page2 = p.logs(1, json!({"cid": cid, "l": 10, "t": ts[15]}));
        assert_eq!(page2, (5..15).map(|i| format!("m{i}")).collect::<Vec<_>>());
        let page3 = p.logs(1, json!({"cid": cid, "l": 10, "t": ts[5]}));
        assert_eq!(page3, (0..5).map(|i| format!("m{i}")).collect::<Vec<_>>());
        // tIncluded, an end bound, and direction NEW.
        let incl = p.logs(
            1,
            json!({"cid": cid, "l": 2, "t": ts[5], "tIncluded": true}),
        );
        assert_eq!(incl, ["m4", "m5"]);
        let between = p.logs(1, json!({"cid": cid, "t": ts[10], "tt": ts[7]}));
        assert_eq!(between, ["m8", "m9"]);
        let newer = p.logs(
            1,
            json!({"cid": cid, "l": 3, "t": ts[20], "direction": "NEW"}),
        );
        assert_eq!(newer, ["m21", "m22", "m23"]);
        // Default limit 20.
        assert_eq!(p.logs(1, json!({"cid": cid})).len(), DEFAULT_LOGS);
        // Members only.
        p.login(2, "eve");
        p.send(
            2,
            json!({"cmd": "logs", "i": 3, "logsMessage": {"cid": cid}}),
        );
        assert_eq!(p.take_one(2)["errorMessage"]["code"], 4401);
    }
}

#[test]
fn leancloud_logs_filter_by_lctype_and_carry_binary_and_mentions() {
    let mut p = Pair::new(None);
    p.login(1, "tom");
    let cid = p.start(1, &["jerry"]);
    p.direct(
        1,
        &cid,
        "{\"_lctype\":-1,\"_lctext\":\"a\"}",
        json!({"mentionPids": ["jerry"]}),
    );
    p.direct(
        1,
        &cid,
        "{\"_lctype\":123,\"x\":1}",
        json!({"mentionAll": true}),
    );
    p.send(
        1,
        json!({"cmd": "direct", "i": 3, "directMessage": {"cid": cid, "binaryMsg": "AAEC/w=="}}),
    );
    p.take(1);
    assert_eq!(
        p.logs(1, json!({"cid": cid, "lctype": 123})),
        ["{\"_lctype\":123,\"x\":1}"]
    );
    p.send(
        1,
        json!({"cmd": "logs", "i": 9, "logsMessage": {"cid": cid}}),
    );
    let r = p.take_one(1);
    let logs = r["logsMessage"]["logs"].as_array().unwrap();
    assert_eq!(logs[0]["mentionPids"], json!(["jerry"]));
    assert_eq!(logs[1]["mentionAll"], true);
    assert_eq!(logs[2]["bin"], true);
    assert_eq!(logs[2]["data"], "AAEC/w==");
}

/// CI found this (scenario leancloud/014): messages arriving faster than the clock get
/// timestamps ahead of it, and a `notifTime` taken from the clock alone was older than a
/// message it listed, so the next login with that `lastUnreadNotifTime` listed it again.
#[test]
fn leancloud_notif_time_covers_timestamps_ahead_of_the_clock() {
    let mut p = Pair::new(None);
    p.login(1, "tom");
    let a = p.start(1, &["jerry"]);
    let stopped = p.now;
    let mut newest = 0;
    for text in ["a1", "a2", "a3"] {
        p.now = stopped - 50;
        newest = p.direct(1, &a, text, json!({})).1;
    }
    p.now = stopped - 50;
    p.login(2, "jerry");
    let u = p.take_one(2);
    let notif = u["unreadMessage"]["notifTime"].as_i64().unwrap();
    assert!(
        notif >= newest,
        "notifTime {notif} before listed message {newest}"
    );
    p.connect(3, "lc.protobuf2.3");
    p.open(3, "jerry", json!({"lastUnreadNotifTime": notif}));
    assert!(p.take(3).is_empty(), "nothing newer than notifTime");
}

/// Issue 12 (CI: leancloud/014 flaked, 3 in 52 runs): a `notifTime` and the next message's
/// timestamp came from the same wall-clock millisecond, so a login with that notifTime missed
/// the message; receipt times had the same flaw. One clock orders them all.
#[test]
fn issue_12_one_clock_orders_notif_time_receipts_and_later_messages() {
    let mut p = Pair::new(None);
    p.login(1, "tom");
    let a = p.start(1, &["jerry"]);
    p.direct(1, &a, "a1", json!({}));
    // Every event below reads the same wall clock (`raw` adds 1 before handling).
    let frozen = p.now + 100;
    p.now = frozen - 1;
    p.login(2, "jerry");
    let notif = p.take_one(2)["unreadMessage"]["notifTime"]
        .as_i64()
        .unwrap();
    p.now = frozen - 1;
    let (mid, t2) = p.direct(1, &a, "a2", json!({"r": true}));
    assert!(t2 > notif, "message {t2} not after notifTime {notif}");
    p.take(2);
    p.connect(3, "lc.protobuf2.3");
    p.now = frozen - 1;
    p.open(3, "jerry", json!({"lastUnreadNotifTime": notif}));
    let u = p.take_one(3);
    assert_eq!(u["unreadMessage"]["convs"][0]["mid"], mid.as_str(), "{u}");
    p.now = frozen - 1;
    p.send(3, json!({"cmd": "read", "readMessage": {"cid": a}}));
    let rcp = p.take(1).into_iter().find(|c| c["cmd"] == "rcp").unwrap();
    let read_at = rcp["rcpMessage"]["t"].as_i64().unwrap();
    assert!(read_at >= t2, "receipt {read_at} before its message {t2}");
    p.now = frozen - 1;
    let (_, t3) = p.direct(1, &a, "a3", json!({}));
    assert!(
        t3 > read_at,
        "message {t3} not after the read receipt {read_at}"
    );
}

#[test]
fn leancloud_unread_at_login_with_mentions_and_notif_time() {
    for mutant in [
        None,
        Some(Mutant::LcUnreadNoMentioned),
        Some(Mutant::LcUnreadIgnoresLastNotif),
    ] {
        let mut p = Pair::new(mutant);
        p.login(1, "tom");
        let a = p.start(1, &["jerry"]);
        let b = p.start(1, &["jerry", "spike"]);
        p.direct(1, &a, "a1", json!({}));
        p.direct(1, &a, "a2", json!({"mentionPids": ["jerry"]}));
        let (last_b, tb) = p.direct(1, &b, "b1", json!({}));
        p.login(2, "jerry");
        let u = p.take_one(2);
        assert_eq!(u["cmd"], "unread");
        assert!(u.get("i").is_none());
        let convs = u["unreadMessage"]["convs"].as_array().unwrap();
        assert_eq!(convs.len(), 2);
        assert_eq!(convs[0]["cid"], b.as_str(), "newest conversation first");
        assert_eq!(convs[0]["unread"], 1);
        assert_eq!(convs[0]["mid"], last_b.as_str());
        assert_eq!(convs[0]["timestamp"], tb);
        assert_eq!(convs[0]["from"], "tom");
        assert_eq!(convs[0]["data"], "b1");
        assert_eq!(convs[0]["mentioned"], false);
        assert_eq!(convs[1]["unread"], 2);
        let mentioned = convs[1]["mentioned"] == true;
        assert_eq!(mentioned, mutant != Some(Mutant::LcUnreadNoMentioned));
        let notif = u["unreadMessage"]["notifTime"].as_i64().unwrap();
        // Reconnect with lastUnreadNotifTime: nothing new, no tuples.
        p.connect(3, "lc.protobuf2.3");
        p.open(3, "jerry", json!({"lastUnreadNotifTime": notif}));
        let again = p.take(3);
        assert_eq!(
            again.is_empty(),
            mutant != Some(Mutant::LcUnreadIgnoresLastNotif),
            "{again:?}"
        );
        // A new message in `a` only: one tuple, notifTime moves forward.
        p.direct(1, &a, "a3", json!({}));
        p.take(2);
        p.take(3);
        p.connect(4, "lc.protobuf2.3");
        p.open(4, "jerry", json!({"lastUnreadNotifTime": notif}));
        let u2 = p.take_one(4);
        let convs2 = u2["unreadMessage"]["convs"].as_array().unwrap();
        if mutant != Some(Mutant::LcUnreadIgnoresLastNotif) {
            assert_eq!(convs2.len(), 1);
        }
        assert_eq!(convs2[0]["cid"], a.as_str());
        assert_eq!(convs2[0]["unread"], 3);
        assert!(u2["unreadMessage"]["notifTime"].as_i64().unwrap() > notif);
        // Reading resets the count.
        p.send(
            4,
            json!({"cmd": "read", "readMessage": {"convs": [{"cid": a}, {"cid": b}]}}),
        );
        p.connect(5, "lc.protobuf2.3");
        p.open(5, "jerry", json!({}));
        assert!(p.take(5).is_empty());
    }
}

#[test]
fn leancloud_unread_lists_at_most_50_conversations() {
    let mut p = Pair::new(None);
    p.login(1, "tom");
    for i in 0..55 {
        let cid = p.start(1, &["jerry"]);
        p.direct(1, &cid, &format!("m{i}"), json!({}));
    }
    p.login(2, "jerry");
    let u = p.take_one(2);
    let convs = u["unreadMessage"]["convs"].as_array().unwrap();
    assert_eq!(convs.len(), MAX_UNREAD_CONVS);
    assert_eq!(convs[0]["data"], "m54");
}

#[test]
fn leancloud_unacked_messages_are_redelivered_on_reconnect() {
    for mutant in [None, Some(Mutant::LcNoRedelivery)] {
        let mut p = Pair::new(mutant);
        p.login(1, "tom");
        let first = p.login(2, "jerry");
        let st = first["sessionMessage"]["st"].clone();
        let cid = p.start(1, &["jerry"]);
        p.take(2);
        let (_, t1) = p.direct(1, &cid, "one", json!({}));
        let (_, t2) = p.direct(1, &cid, "two", json!({}));
        let (_, t3) = p.direct(1, &cid, "three", json!({}));
        assert_eq!(p.take(2).len(), 3);
        // Jerry acks the first only, then the network drops.
        p.send(
            2,
            json!({"cmd": "ack", "ackMessage": {"cid": cid, "fromts": t1, "tots": t1}}),
        );
        p.drop_conn(2);
        p.connect(3, "lc.protobuf2.3");
        p.open(3, "jerry", json!({"r": true, "st": st}));
        let again: Vec<Value> = p
            .take(3)
            .into_iter()
            .filter(|c| c["cmd"] == "direct")
            .collect();
        if mutant.is_some() {
            assert!(again.is_empty());
            continue;
        }
        let got: Vec<i64> = again
            .iter()
            .map(|d| d["directMessage"]["timestamp"].as_i64().unwrap())
            .collect();
        assert_eq!(got, [t2, t3], "the unacked ones, in order, once each");
        // Acked now: a second reconnect gets nothing again.
        p.send(
            3,
            json!({"cmd": "ack", "ackMessage": {"cid": cid, "fromts": t2, "tots": t3}}),
        );
        p.drop_conn(3);
        p.connect(4, "lc.protobuf2.3");
        p.open(4, "jerry", json!({"r": true, "st": st}));
        assert!(!p.take(4).iter().any(|c| c["cmd"] == "direct"));
    }
}

#[test]
fn leancloud_version_1_pushes_at_most_20_offline_messages_per_conversation() {
    for mutant in [None, Some(Mutant::LcOfflinePushUnbounded)] {
        let mut p = Pair::new(mutant);
        p.login(1, "tom");
        let cid = p.start(1, &["jerry"]);
        let other = p.start(1, &["jerry"]);
        for i in 0..25 {
            p.direct(1, &cid, &format!("m{i}"), json!({}));
        }
        p.direct(1, &other, "x", json!({}));
        p.connect(2, "lc.proto2base64.1");
        p.open(2, "jerry", json!({}));
        let pushed: Vec<Value> = p.take(2);
        assert!(
            pushed.iter().all(|c| c["cmd"] == "direct"),
            "no unread in version 1"
        );
        let in_cid: Vec<&str> = pushed
            .iter()
            .filter(|c| c["directMessage"]["cid"] == cid.as_str())
            .map(|c| c["directMessage"]["msg"].as_str().unwrap())
            .collect();
        if mutant.is_some() {
            assert_eq!(in_cid.len(), 25);
            continue;
        }
        assert_eq!(in_cid.len(), MAX_OFFLINE_PER_CONV);
        assert_eq!(in_cid[0], "m5", "the newest 20, oldest first");
        assert!(pushed.iter().all(|c| c["directMessage"]["offline"] == true));
        assert_eq!(pushed.len(), 21);
    }
}

#[test]
fn leancloud_conversations_unique_members_query_count_update() {
    let mut p = Pair::new(None);
    p.login(1, "tom");
    p.login(2, "jerry");
    p.login(3, "spike");
    p.send(1, json!({"cmd": "conv", "op": "start", "i": 2, "convMessage": {
        "m": ["jerry", "tom"], "unique": true, "attr": {"data": "{\"name\":\"t&j\",\"color\":\"red\"}"}}}));
    let cid = p.take_one(1)["convMessage"]["cid"]
        .as_str()
        .unwrap()
        .to_owned();
    p.take(2);
    p.send(2, json!({"cmd": "conv", "op": "start", "i": 3, "convMessage": {"m": ["tom"], "unique": true}}));
    assert_eq!(
        p.take_one(2)["convMessage"]["cid"],
        cid.as_str(),
        "unique: same conversation"
    );
    // Query by objectId, as the SDK's getConversation does.
    p.send(
        3,
        json!({"cmd": "conv", "op": "query", "i": 4, "convMessage": {
        "where": {"data": format!("{{\"objectId\":\"{cid}\"}}")}, "flag": 0, "limit": 1}}),
    );
    let r = p.take_one(3);
    assert_eq!(r["op"], "results");
    let results: Value =
        serde_json::from_str(r["convMessage"]["results"]["data"].as_str().unwrap()).unwrap();
    assert_eq!(results[0]["objectId"], cid.as_str());
    assert_eq!(results[0]["m"], json!(["tom", "jerry"]));
    assert_eq!(results[0]["name"], "t&j");
    assert_eq!(results[0]["color"], "red");
    assert_eq!(results[0]["c"], "tom");
    // Add spike: spike gets joined, the others members_joined.
    p.send(
        1,
        json!({"cmd": "conv", "op": "add", "i": 5, "convMessage": {"cid": cid, "m": ["spike"]}}),
    );
    let r = p.take_one(1);
    assert_eq!(r["op"], "added");
    assert_eq!(r["convMessage"]["allowedPids"], json!(["spike"]));
    assert_eq!(cmds(&p.take(3)), ["conv/joined"]);
    let mj = p.take_one(2);
    assert_eq!(mj["op"], "members_joined");
    assert_eq!(mj["convMessage"]["m"], json!(["spike"]));
    p.send(
        2,
        json!({"cmd": "conv", "op": "count", "i": 6, "convMessage": {"cid": cid}}),
    );
    assert_eq!(p.take_one(2)["convMessage"]["count"], 3);
    // Remove, update.
    p.send(
        1,
        json!({"cmd": "conv", "op": "remove", "i": 7, "convMessage": {"cid": cid, "m": ["spike"]}}),
    );
    assert_eq!(p.take_one(1)["op"], "removed");
    assert_eq!(cmds(&p.take(3)), ["conv/left"]);
    assert_eq!(cmds(&p.take(2)), ["conv/members_left"]);
    p.send(
        1,
        json!({"cmd": "conv", "op": "update", "i": 8, "convMessage": {"cid": cid,
        "attr": {"data": "{\"name\":\"renamed\"}"}}}),
    );
    let r = p.take_one(1);
    assert_eq!(r["op"], "updated");
    let u = p.take_one(2);
    assert_eq!(u["op"], "updated");
    assert_eq!(u["convMessage"]["initBy"], "tom");
    // Conversation ops on unknown conversations.
    p.send(
        3,
        json!({"cmd": "conv", "op": "count", "i": 9, "convMessage": {"cid": "nope"}}),
    );
    assert_eq!(p.take_one(3)["errorMessage"]["code"], 4303);
}

#[test]
fn leancloud_bad_frames_get_an_error_and_close_only_that_connection() {
    let mut p = Pair::new(None);
    p.login(1, "tom");
    p.connect(2, "lc.proto2base64.3");
    p.raw(2, b"!!not base64!!");
    let e = p.take_one(2);
    assert_eq!(e["cmd"], "error");
    assert!(e.get("i").is_none());
    assert!(p.closed.contains(&2));
    p.connect(3, "lc.protobuf2.3");
    p.raw(3, &[0xff, 0xff, 0xff]);
    assert_eq!(p.take_one(3)["errorMessage"]["code"], 4200);
    p.connect(4, "lc.protobuf2.3");
    p.raw(4, &vec![0u8; Limits::default().max_frame + 1]);
    assert_eq!(p.take_one(4)["errorMessage"]["code"], 4109);
    assert!(!p.closed.contains(&1));
    p.send(1, json!({"cmd": "echo", "i": 2}));
    assert_eq!(p.take_one(1)["i"], 2);
    // Unknown commands: an error with i, silence without.
    p.send(1, json!({"cmd": "blacklist", "op": "block", "i": 3}));
    assert_eq!(p.take_one(1)["errorMessage"]["code"], 4200);
    p.send(1, json!({"cmd": "report", "op": "upload"}));
    assert!(p.take(1).is_empty());
}

#[test]
fn leancloud_garbage_never_panics() {
    let mut p = Pair::new(None);
    p.login(1, "tom");
    let mut x: u64 = 0x1234_5678;
    for n in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = usize::try_from(x % 40).unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
        let conn = 10 + n % 7;
        if p.hub.subprotocol(conn).is_none() {
            p.closed.remove(&conn);
            p.connect(
                conn,
                if n % 2 == 0 {
                    "lc.protobuf2.3"
                } else {
                    "lc.proto2base64.1"
                },
            );
        }
        p.raw(conn, &bytes);
        if n % 13 == 0 {
            p.drop_conn(conn);
        }
    }
}

#[test]
fn leancloud_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cid = {
        let mut p = Pair::with_store(None, Store::open(dir.path()).unwrap());
        p.login(1, "tom");
        let cid = p.start(1, &["jerry"]);
        p.direct(1, &cid, "kept", json!({}));
        cid
    };
    let mut p = Pair::with_store(None, Store::open(dir.path()).unwrap());
    p.login(1, "jerry");
    let u = p.take_one(1);
    assert_eq!(u["unreadMessage"]["convs"][0]["cid"], cid.as_str());
    assert_eq!(p.logs(1, json!({"cid": cid})), ["kept"]);
}
