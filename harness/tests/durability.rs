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
        while addrs.len() < services.len() {
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
