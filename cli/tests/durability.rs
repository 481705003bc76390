//! Durability, proved on the real binary: a child `imspec serve --data DIR` is killed with
//! SIGKILL in the middle of traffic, and a server restarted on the same `DIR` serves everything
//! the first one had acknowledged (the MSNP store's own proof is in `server/store.rs`).

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use futures_util::{SinkExt as _, StreamExt as _};
use imspec_codec::leancloud::{self as lc, Format, GenericCommand};
use imspec_codec::{Status, sip};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A child `imspec serve` on loopback port 0 with `--data dir`, and the addresses it printed.
struct Serve {
    child: Child,
    addrs: HashMap<String, SocketAddr>,
}

impl Serve {
    fn start(dir: &Path, services: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imspec"));
        cmd.arg("serve").arg("--data").arg(dir);
        for s in services {
            cmd.arg(format!("--{s}")).arg("127.0.0.1:0");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addrs = HashMap::new();
        // `--sip` also prints `listening msrp`: read every listener line, so that none is
        // written into a closed pipe.
        let wanted = services.len() + usize::from(services.contains(&"sip"));
        while addrs.len() < wanted {
            let line = lines.next().expect("serve printed its listeners").unwrap();
            if let Some(rest) = line.strip_prefix("listening ") {
                let (name, addr) = rest.split_once(' ').unwrap();
                addrs.insert(name.to_owned(), addr.parse().unwrap());
            }
        }
        Self { child, addrs }
    }

    /// SIGKILL: no destructors, no flush, no clean shutdown.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A LeanCloud client on `lc.protobuf2.3`, speaking the codec's readable JSON form.
struct Lc(Ws);

impl Lc {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut req = format!("ws://{addr}/").into_client_request().unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("lc.protobuf2.3"),
        );
        let (ws, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
        Self(ws)
    }

    async fn send(&mut self, cmd: Value) {
        let cmd: GenericCommand = serde_json::from_value(cmd).unwrap();
        let mut bytes = Vec::new();
        lc::encode(&cmd, Format::Protobuf2, &mut bytes);
        self.0.send(Message::binary(bytes)).await.unwrap();
    }

    /// The next command, or `None` once the connection is gone.
    async fn next(&mut self) -> Option<Value> {
        loop {
            match self.0.next().await? {
                Ok(Message::Binary(b)) => {
                    let cmd = lc::decode(&b, Format::Protobuf2).unwrap();
                    return Some(serde_json::to_value(cmd).unwrap());
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The reply with `i` (pushes before it are dropped).
    async fn reply(&mut self, i: i64) -> Value {
        loop {
            let c = self.next().await.expect("connection open");
            if c["i"] == i {
                return c;
            }
        }
    }

    async fn open(&mut self, peer: &str, session: Value) -> Vec<Value> {
        self.send(
            json!({"cmd": "session", "op": "open", "appId": "durable", "peerId": peer,
                         "i": 1, "sessionMessage": session}),
        )
        .await;
        let opened = self.reply(1).await;
        assert_eq!(opened["op"], "opened", "{opened}");
        // The pushes that follow the reply at login, up to an echo's answer.
        self.send(json!({"cmd": "echo", "i": 2})).await;
        let mut pushes = Vec::new();
        loop {
            let c = self.next().await.unwrap();
            if c["i"] == 2 {
                return pushes;
            }
            pushes.push(c);
        }
    }
}

// Why (issue 12): LeanCloud keeps messages, unread cursors, patches and recalls in its store; a
// message acknowledged (`ack` with uid) must survive `kill -9`, with its edits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_leancloud_survives_sigkill_mid_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &["leancloud"]);
    let addr = serve.addrs["leancloud"];
    let mut tom = Lc::connect(addr).await;
    tom.open("tom", json!({"ua": "js/4.3.1", "configBitmap": 59}))
        .await;
    tom.send(json!({"cmd": "conv", "op": "start", "i": 3,
                    "convMessage": {"m": ["jerry"], "attr": {"data": "{\"name\":\"n\"}"}}}))
        .await;
    let cid = tom.reply(3).await["convMessage"]["cid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut acked: Vec<(String, i64, String)> = Vec::new();
    let direct = |i: i64, text: String| json!({"cmd": "direct", "i": i, "directMessage": {"cid": cid, "msg": text}});
    for n in 0..3 {
        tom.send(direct(10 + n, format!("m{n}"))).await;
        let a = tom.reply(10 + n).await;
        let uid = a["ackMessage"]["uid"].as_str().unwrap().to_owned();
        acked.push((uid, a["ackMessage"]["t"].as_i64().unwrap(), format!("m{n}")));
    }
    let patch = |i: i64, (uid, t, _): &(String, i64, String), change: Value| {
        let mut item = json!({"cid": cid, "mid": uid, "timestamp": t});
        if let (Some(o), Value::Object(c)) = (item.as_object_mut(), change) {
            o.extend(c);
        }
        json!({"cmd": "patch", "op": "modify", "i": i, "patchMessage": {"patches": [item]}})
    };
    tom.send(patch(20, &acked[0], json!({"data": "edited"})))
        .await;
    assert_eq!(tom.reply(20).await["op"], "modified");
    tom.send(patch(21, &acked[1], json!({"recall": true})))
        .await;
    assert_eq!(tom.reply(21).await["op"], "modified");
    acked[0].2 = "edited".into();
    acked[1].2 = "{\"_lctype\":-127}".into();
    // Mid-traffic: 200 messages in flight; the kill comes after the 50th acknowledgement.
    for n in 3..203 {
        tom.send(direct(100 + n, format!("m{n}"))).await;
    }
    while acked.len() < 53 {
        let Some(c) = tom.next().await else { break };
        if c["cmd"] == "ack" && c["ackMessage"]["uid"].is_string() {
            let n = c["i"].as_i64().unwrap() - 100;
            let uid = c["ackMessage"]["uid"].as_str().unwrap().to_owned();
            acked.push((uid, c["ackMessage"]["t"].as_i64().unwrap(), format!("m{n}")));
        }
    }
    serve.kill();
    assert_eq!(acked.len(), 53, "the server acknowledged 50 of the burst");

    let serve = Serve::start(dir.path(), &["leancloud"]);
    let mut jerry = Lc::connect(serve.addrs["leancloud"]).await;
    let pushes = jerry
        .open(
            "jerry",
            json!({"ua": "js/4.3.1", "configBitmap": 59, "lastPatchTime": 0}),
        )
        .await;
    let unread = pushes.iter().find(|c| c["cmd"] == "unread").unwrap();
    let tuple = &unread["unreadMessage"]["convs"][0];
    assert_eq!(tuple["cid"], cid.as_str());
    let count = tuple["unread"].as_u64().unwrap();
    assert!(
        count >= 53,
        "unread {count}: every acknowledged message counts"
    );
    let patched: usize = pushes
        .iter()
        .filter(|c| c["cmd"] == "patch")
        .filter_map(|c| c["patchMessage"]["patches"].as_array().map(Vec::len))
        .sum();
    assert_eq!(patched, 2, "both patches synced: {pushes:?}");
    jerry
        .send(json!({"cmd": "logs", "i": 9, "logsMessage": {"cid": cid, "limit": 1000}}))
        .await;
    let logs = jerry.reply(9).await;
    let logs = logs["logsMessage"]["logs"].as_array().unwrap().clone();
    assert_eq!(logs.len() as u64, count, "logs and unread count agree");
    let stored: HashMap<&str, (i64, &str)> = logs
        .iter()
        .map(|l| {
            (
                l["msgId"].as_str().unwrap(),
                (
                    l["timestamp"].as_i64().unwrap(),
                    l["data"].as_str().unwrap_or(""),
                ),
            )
        })
        .collect();
    for (uid, t, text) in &acked {
        assert_eq!(
            stored.get(uid.as_str()),
            Some(&(*t, text.as_str())),
            "acknowledged message {uid} ({text})"
        );
    }
    // A new message after the restart gets a later timestamp than everything before it.
    jerry
        .send(json!({"cmd": "direct", "i": 5, "directMessage": {"cid": cid, "msg": "after"}}))
        .await;
    let t = jerry.reply(5).await["ackMessage"]["t"].as_i64().unwrap();
    let newest = logs.iter().filter_map(|l| l["timestamp"].as_i64()).max();
    assert!(
        Some(t) > newest,
        "timestamps never go back across a restart"
    );
}

/// A SIP user agent on one TCP connection, reading with the codec.
struct Ua {
    s: tokio::net::TcpStream,
    buf: Vec<u8>,
    host: String,
    user: &'static str,
    cseq: u32,
}

impl Ua {
    async fn connect(addr: SocketAddr, user: &'static str) -> Self {
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let host = addr.to_string();
        Self {
            s,
            buf: Vec::new(),
            host,
            user,
            cseq: 0,
        }
    }

    async fn send(&mut self, text: &str) {
        use tokio::io::AsyncWriteExt as _;
        self.s.write_all(text.as_bytes()).await.unwrap();
    }

    async fn next(&mut self) -> sip::Message<'static> {
        use tokio::io::AsyncReadExt as _;
        loop {
            if let Ok(Status::Complete((m, n))) = sip::parse(&self.buf) {
                let m = m.into_owned();
                self.buf.drain(..n);
                return m;
            }
            let mut chunk = [0u8; 8192];
            let n = self.s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// A request from this user with `extra` headers and `body`.
    fn request(&mut self, method: &str, to: &str, extra: &str, body: &str) -> String {
        self.cseq += 1;
        let (host, user, n) = (&self.host, self.user, self.cseq);
        let me = self.s.local_addr().unwrap();
        format!(
            "{method} sip:{to}@{host} SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bK-{user}{n}\r\nFrom: <sip:{user}@{host}>;tag={user}\r\nTo: <sip:{to}@{host}>\r\nCall-ID: {user}-{n}\r\nCSeq: {n} {method}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// REGISTERs with this connection as the Contact, then proves with an OPTIONS round trip
    /// that the server has sent everything it had to send: the bodies of the MESSAGEs dumped.
    async fn register_and_collect(&mut self) -> Vec<sip::Message<'static>> {
        let me = self.s.local_addr().unwrap();
        let contact = format!(
            "Contact: <sip:{}@{me};transport=tcp>\r\nExpires: 600\r\n",
            self.user
        );
        let reg = self.request("REGISTER", self.user, &contact, "");
        self.send(&reg).await;
        self.barrier().await
    }

    /// Sends OPTIONS and returns the requests that arrived before its answer (the server
    /// handles one connection's frames in order: what it sent before has arrived).
    async fn barrier(&mut self) -> Vec<sip::Message<'static>> {
        let options = self.request("OPTIONS", self.user, "", "");
        let call = format!("{}-{}", self.user, self.cseq);
        self.send(&options).await;
        let mut got = Vec::new();
        loop {
            let m = self.next().await;
            if m.status().is_some() {
                if m.call_id() == Some(call.as_str()) {
                    return got;
                }
            } else {
                got.push(m);
            }
        }
    }

    /// Answers a request from the server `200 OK`.
    async fn ok(&mut self, req: &sip::Message<'_>) {
        let h = |name| req.header(name).unwrap_or_default().to_owned();
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=ua\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
            h("Via"),
            h("From"),
            h("To"),
            h("Call-ID"),
            h("CSeq")
        );
        self.send(&text).await;
    }
}

fn bodies(msgs: &[sip::Message<'_>]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m.method() == Some(&sip::Method::MESSAGE))
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

// Why (issue 12): a MESSAGE answered 202 is stored durably and delivered in storage order after
// a kill -9; one the user agent answered 2xx is gone for good, even across another kill -9.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_sip_store_survives_sigkill_in_order_and_never_redelivers() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &["sip"]);
    let mut alice = Ua::connect(serve.addrs["sip"], "alice").await;
    // Mid-traffic: 100 MESSAGEs for offline bob in flight; the kill follows the 40th 202.
    let mut burst = String::new();
    for n in 0..100 {
        burst.push_str(&alice.request(
            "MESSAGE",
            "bob",
            "Content-Type: text/plain\r\n",
            &format!("m{n:03}"),
        ));
    }
    alice.send(&burst).await;
    let mut accepted = Vec::new();
    while accepted.len() < 40 {
        let r = alice.next().await;
        assert_eq!(r.status(), Some(202), "{r:?}");
        accepted.push(r.call_id().unwrap().to_owned());
    }
    serve.kill();
    let accepted: Vec<String> = accepted
        .iter()
        .map(|c| {
            let n: usize = c.strip_prefix("alice-").unwrap().parse().unwrap();
            format!("m{:03}", n - 1)
        })
        .collect();

    let serve = Serve::start(dir.path(), &["sip"]);
    let mut bob = Ua::connect(serve.addrs["sip"], "bob").await;
    let dumped = bob.register_and_collect().await;
    let got = bodies(&dumped);
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted, "delivered in storage (= arrival) order");
    assert_eq!(got[..40], accepted[..], "every accepted message, in order");
    // bob acknowledges the first 20; the OPTIONS round trip proves they were handled.
    for m in dumped.iter().take(20) {
        bob.ok(m).await;
    }
    bob.barrier().await;
    serve.kill();

    let serve = Serve::start(dir.path(), &["sip"]);
    let mut bob = Ua::connect(serve.addrs["sip"], "bob").await;
    let again = bodies(&bob.register_and_collect().await);
    assert_eq!(
        again,
        got[20..],
        "the 2xx'd ones never again, the others all, in order"
    );
    drop(serve);
}
