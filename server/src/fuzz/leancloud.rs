//! The LeanCloud hub's part of the state-machine fuzzer: the body of the `server_leancloud`
//! fuzz target. Its hub takes whole WebSocket messages, so it has its own driver.
//!
//! The input is a small program; each operation is one byte (its value modulo 8 picks the
//! operation) followed by its arguments:
//!
//! | op | meaning |
//! | --- | --- |
//! | 0 | connect a new WebSocket connection with one of the four subprotocols |
//! | 1 | the client closes connection `j` |
//! | 2, 3, 4 | send command kind `k` on connection `j`, built from what the server said so far (session tokens, conversation and message ids, timestamps) |
//! | 5 | the same with odd fields (missing ids, unknown ones, negative times, no `i`) |
//! | 6 | send up to 255 raw bytes as one WebSocket message on connection `j` |
//! | 7 | advance the clock (1 ms, 1 s, 1 h) |
//!
//! After every event the driver drains the hub's outputs and checks:
//!
//! * nothing panics; every output decodes with the codec in its connection's framing;
//! * a command sent with `i` gets exactly one reply carrying that `i`, at once (the hub has no
//!   timers), and no output carries an `i` that is not awaited; every output names a
//!   `peerId`, except errors for a peerless frame and `echo` before any session;
//! * nothing is sent to a connection after it closed;
//! * new message ids come with strictly increasing timestamps.

use std::collections::{BTreeSet, HashMap};

use imspec_codec::leancloud::{self as lc, GenericCommand, Subprotocol};
use serde_json::{Value, json};

use crate::db::Open as _;
use crate::leancloud::{Config, Event, Hub, Store};
use crate::{ConnId, Output};

/// Most operations decoded from one input.
pub const MAX_OPS: usize = 256;
/// Most connections one input opens.
pub const MAX_CONNS: usize = 8;
const START_MS: u64 = 1_795_310_486_000;
const PEERS: [&str; 3] = ["alice", "bob", "carol"];

/// Runs the hub over the program in `data`.
pub fn run(data: &[u8]) -> Result<(), String> {
    let store = Store::in_memory().map_err(|e| e.to_string())?;
    let mut d = Driver {
        hub: Hub::new(
            Config {
                seed: 1,
                ..Config::default()
            },
            store,
        ),
        now: START_MS,
        conns: Vec::new(),
        tokens: Vec::new(),
        cids: Vec::new(),
        msgs: Vec::new(),
        uids: BTreeSet::new(),
        last_t: 0,
    };
    let mut input = data.iter().copied();
    let mut next = move || input.next();
    for _ in 0..MAX_OPS {
        let Some(op) = next() else { break };
        match op % 8 {
            0 => {
                let p = Subprotocol::ALL[usize::from(next().unwrap_or(0)) % 4];
                if d.conns.len() < MAX_CONNS {
                    let id = ConnId::try_from(d.conns.len() + 1).unwrap_or(0);
                    d.conns.push(Conn {
                        id,
                        proto: p,
                        open: true,
                        next_i: 1,
                        awaited: BTreeSet::new(),
                    });
                    d.hub.handle(d.now, id, Event::Connected(p));
                    d.drain()?;
                }
            }
            1 => {
                let j = usize::from(next().unwrap_or(0));
                if let Some(c) = d.conn(j) {
                    c.open = false;
                    let id = c.id;
                    d.hub.handle(d.now, id, Event::Closed);
                    d.drain()?;
                }
            }
            2..=5 => {
                let args = [0; 4].map(|_: u8| next().unwrap_or(0));
                d.command(op % 8 == 5, args)?;
            }
            6 => {
                let j = usize::from(next().unwrap_or(0));
                let n = usize::from(next().unwrap_or(0));
                let bytes: Vec<u8> = (0..n).map_while(|_| next()).collect();
                if let Some(c) = d.conn(j) {
                    // Raw bytes may well be a command, `i` included: then it awaits its reply.
                    let i = lc::decode(&bytes, c.proto.format)
                        .ok()
                        .and_then(|cmd| cmd.i);
                    if let Some(i) = i {
                        c.awaited.insert(i);
                    }
                    let id = c.id;
                    d.hub.handle(d.now, id, Event::Frame(&bytes));
                    d.drain()?;
                    d.answered(id, i, &bytes)?;
                }
            }
            _ => {
                d.now += [1, 1000, 3_600_000][usize::from(next().unwrap_or(0)) % 3];
            }
        }
    }
    Ok(())
}

struct Conn {
    id: ConnId,
    proto: Subprotocol,
    open: bool,
    next_i: i32,
    awaited: BTreeSet<i32>,
}

struct Driver {
    hub: Hub,
    now: u64,
    conns: Vec<Conn>,
    tokens: Vec<(String, String)>,
    cids: Vec<String>,
    /// (cid, mid, timestamp) of acknowledged messages.
    msgs: Vec<(String, String, i64)>,
    uids: BTreeSet<String>,
    last_t: i64,
}

fn pick<T: Clone>(items: &[T], b: u8) -> Option<T> {
    items.get(usize::from(b) % items.len().max(1)).cloned()
}

impl Driver {
    /// The `j`-th open connection.
    fn conn(&mut self, j: usize) -> Option<&mut Conn> {
        let open: Vec<usize> = (0..self.conns.len())
            .filter(|k| self.conns.get(*k).is_some_and(|c| c.open))
            .collect();
        let k = *open.get(j % open.len().max(1))?;
        self.conns.get_mut(k)
    }

    fn command(&mut self, odd: bool, [j, kind, a, b]: [u8; 4]) -> Result<(), String> {
        let peer = pick(&PEERS, a).unwrap_or("alice");
        let cid = if odd && b & 1 == 1 {
            "000000000000000000000000".to_owned()
        } else {
            pick(&self.cids, b).unwrap_or_default()
        };
        let (mcid, mid, t) = pick(&self.msgs, a).unwrap_or_default();
        let t = if odd && b & 2 == 2 { -t } else { t };
        let mut cmd = match kind % 16 {
            0 => {
                let mut sm = json!({"ua": "js/4.3.1", "configBitmap": 59});
                if b & 1 == 1 {
                    sm["tag"] = "Mobile".into();
                }
                if b & 2 == 2 {
                    sm["r"] = true.into();
                    if let Some((_, st)) = self.tokens.iter().find(|(p, _)| p == peer) {
                        sm["st"] = st.clone().into();
                    }
                }
                if b & 4 == 4 {
                    sm["lastUnreadNotifTime"] = (START_MS as i64).into();
                    sm["lastPatchTime"] = (START_MS as i64).into();
                }
                json!({"cmd": "session", "op": "open", "appId": "fuzz", "peerId": peer, "sessionMessage": sm})
            }
            1 => json!({"cmd": "session", "op": "close"}),
            2..=4 => {
                let mut dm =
                    json!({"cid": cid, "msg": format!("m{a}"), "dt": format!("d{}", a % 4)});
                if b & 1 == 1 {
                    dm["transient"] = true.into();
                }
                if b & 2 == 2 {
                    dm["r"] = true.into();
                }
                if b & 4 == 4 {
                    dm["will"] = true.into();
                }
                if b & 8 == 8 {
                    dm["mentionPids"] = json!([pick(&PEERS, b).unwrap_or("bob")]);
                    dm["mentionAll"] = (b & 16 == 16).into();
                }
                if b & 32 == 32 {
                    dm["binaryMsg"] = "AAEC".into();
                }
                json!({"cmd": "direct", "directMessage": dm})
            }
            5 => {
                json!({"cmd": "ack", "ackMessage": {"cid": mcid, "fromts": t, "tots": t.saturating_add(i64::from(b))}})
            }
            6 => {
                json!({"cmd": "read", "readMessage": {"convs": [{"cid": mcid, "timestamp": t, "mid": mid}]}})
            }
            7 => {
                let mut q = json!({"cid": cid, "l": i32::from(b % 30) - 2});
                if a & 1 == 1 {
                    q["t"] = t.into();
                    q["tIncluded"] = (a & 2 == 2).into();
                }
                if a & 4 == 4 {
                    q["direction"] = "NEW".into();
                }
                if a & 8 == 8 {
                    q["lctype"] = (-1).into();
                }
                json!({"cmd": "logs", "logsMessage": q})
            }
            8 => json!({"cmd": "patch", "op": "modify", "patchMessage": {"patches": [
                {"cid": mcid, "mid": mid, "timestamp": t, "recall": b & 1 == 1, "data": "edited"}]}}),
            9 => {
                let members: Vec<&str> = PEERS.iter().copied().filter(|_| b & 1 == 1).collect();
                json!({"cmd": "conv", "op": "start", "convMessage": {
                    "m": members, "unique": a & 1 == 1, "transient": a & 2 == 2,
                    "attr": {"data": if odd { "[1]" } else { "{\"name\":\"x\"}" }}}})
            }
            10 => json!({"cmd": "conv", "op": if b & 1 == 1 { "add" } else { "remove" },
                         "convMessage": {"cid": cid, "m": [peer]}}),
            11 => {
                json!({"cmd": "conv", "op": "query", "convMessage": {"where": {"data": format!("{{\"objectId\":\"{cid}\"}}")}}})
            }
            12 => {
                json!({"cmd": "conv", "op": "max_read", "convMessage": {"cid": cid, "queryAllMembers": b & 1 == 1}})
            }
            13 => {
                json!({"cmd": "conv", "op": "update", "convMessage": {"cid": cid, "attr": {"data": "{\"name\":\"y\"}"}}})
            }
            14 => json!({"cmd": "echo"}),
            _ => {
                json!({"cmd": "session", "op": "query", "sessionMessage": {"sessionPeerIds": PEERS}})
            }
        };
        if kind & 16 == 16 {
            cmd["peerId"] = peer.into();
        }
        let Some(c) = self.conn(usize::from(j)) else {
            return Ok(());
        };
        let with_i = !(odd && a & 64 == 64) && cmd["cmd"] != "ack" && cmd["cmd"] != "read";
        if with_i {
            cmd["i"] = c.next_i.into();
            c.awaited.insert(c.next_i);
            c.next_i += 1;
        }
        let (id, format) = (c.id, c.proto.format);
        let cmd: GenericCommand = serde_json::from_value(cmd)
            .map_err(|e| format!("fuzz model built a bad command: {e}"))?;
        let mut bytes = Vec::new();
        lc::encode(&cmd, format, &mut bytes);
        self.hub.handle(self.now, id, Event::Frame(&bytes));
        self.drain()?;
        self.answered(id, cmd.i, &bytes)
    }

    /// The command with `i` just sent on `id` (if still open) got its reply.
    fn answered(&self, id: ConnId, i: Option<i32>, frame: &[u8]) -> Result<(), String> {
        if let Some(c) = self.conns.iter().find(|c| c.id == id && c.open)
            && let Some(i) = i
            && c.awaited.contains(&i)
        {
            return Err(format!("conn {id}: no reply to i={i} (frame {frame:02x?})"));
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), String> {
        let mut outs = HashMap::<ConnId, Vec<GenericCommand>>::new();
        while let Some(o) = self.hub.poll_output() {
            match o {
                Output::Send { conn, bytes } => {
                    let c = self
                        .conns
                        .iter()
                        .find(|c| c.id == conn)
                        .ok_or_else(|| format!("output for unknown conn {conn}"))?;
                    if !c.open {
                        return Err(format!("conn {conn}: output after close"));
                    }
                    let cmd = lc::decode(&bytes, c.proto.format)
                        .map_err(|e| format!("conn {conn}: undecodable output: {e}"))?;
                    outs.entry(conn).or_default().push(cmd);
                }
                Output::Close { conn } => {
                    if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) {
                        c.open = false;
                    }
                }
            }
        }
        for (conn, cmds) in outs {
            for cmd in cmds {
                self.learn(conn, &cmd)?;
            }
        }
        Ok(())
    }

    fn learn(&mut self, conn: ConnId, cmd: &GenericCommand) -> Result<(), String> {
        if let Some(i) = cmd.i {
            let c = self
                .conns
                .iter_mut()
                .find(|c| c.id == conn)
                .ok_or("unknown conn")?;
            if !c.awaited.remove(&i) {
                return Err(format!(
                    "conn {conn}: reply with i={i} nobody awaits: {cmd:?}"
                ));
            }
        }
        let v: Value = serde_json::to_value(cmd).map_err(|e| e.to_string())?;
        let peer = v["peerId"].as_str().unwrap_or_default().to_owned();
        // Errors for peerless frames and keep-alive echoes before any session have no peer.
        if peer.is_empty() && v["cmd"] != "error" && v["cmd"] != "echo" {
            return Err(format!("conn {conn}: output without peerId: {v}"));
        }
        if let Some(st) = v["sessionMessage"]["st"].as_str() {
            self.tokens.push((peer.clone(), st.to_owned()));
        }
        if let Some(cid) = v["convMessage"]["cid"].as_str()
            && !self.cids.iter().any(|c| c == cid)
        {
            self.cids.push(cid.to_owned());
        }
        if let (Some(uid), Some(t)) = (
            v["ackMessage"]["uid"].as_str(),
            v["ackMessage"]["t"].as_i64(),
        ) && self.uids.insert(uid.to_owned())
        {
            if t <= self.last_t {
                return Err(format!(
                    "new message {uid} at t={t}, not after {}",
                    self.last_t
                ));
            }
            self.last_t = t;
        }
        if let (Some(cid), Some(mid), Some(t)) = (
            v["directMessage"]["cid"].as_str(),
            v["directMessage"]["id"].as_str(),
            v["directMessage"]["timestamp"].as_i64(),
        ) && !self.msgs.iter().any(|(_, m, _)| m == mid)
        {
            self.msgs.push((cid.to_owned(), mid.to_owned(), t));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-written program: two sessions, a conversation, messages of every kind, acks,
    /// patches, history, garbage; no invariant breaks.
    #[test]
    fn leancloud_fuzz_program_runs_clean() {
        let program: Vec<u8> = vec![
            0, 0, // conn 1, lc.protobuf2.3
            0, 1, // conn 2, lc.proto2base64.3
            2, 0, 0, 0, 0, // open alice on conn 1
            2, 1, 0, 1, 0, // open bob on conn 2
            2, 0, 9, 0, 1, // conv start with members
            2, 0, 2, 0, 0, // direct
            2, 0, 2, 1, 2, // direct r=true
            2, 1, 5, 0, 0, // bob acks
            2, 1, 6, 0, 0, // bob reads
            2, 0, 8, 0, 1, // alice recalls
            2, 1, 7, 1, 10, // bob logs
            5, 1, 8, 0, 2, // odd patch
            6, 0, 3, 1, 2, 3, // garbage on conn 1 → closed
            7, 1, // clock
            1, 0, // close conn 2
            0, 2, 2, 0, 0, 0, 2, // reconnect
        ];
        run(&program).unwrap();
    }

    // Why: raw bytes that decode as a command with `i=0` were answered (rightly) and the
    // model, not knowing the frame was a command, took the reply for an unawaited one.
    #[test]
    fn fuzz_server_leancloud_23614dc6() {
        run(include_bytes!(
            "../../../corpus/leancloud/regressions/server_leancloud-23614dc6"
        ))
        .unwrap();
    }

    #[test]
    fn leancloud_fuzz_pseudo_random_programs_run_clean() {
        let mut x: u64 = 0x9e37_79b9;
        for _ in 0..200 {
            let program: Vec<u8> = (0..300)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            run(&program).unwrap();
        }
    }
}
