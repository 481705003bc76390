//! The reference LeanCloud client (docs/protocols/leancloud.md §4), sans-IO: driver ops,
//! server commands and connection loss go in ([`Client::op`], [`Client::frame`],
//! [`Client::closed`]); what to do comes out of [`Client::poll`]. Commands are the codec's
//! readable form (JSON); the I/O loop in [`super::builtin`] encodes and decodes them.
//!
//! What it does, each a rule of a client case:
//! * pairs every reply with its command by `i` (§4.1), so replies may come in any order;
//! * acknowledges every pushed `direct` that is neither transient nor its own with
//!   `ack{cid, mid, fromts, tots}` (§4.4), and shows a message id once (§6.5: a redelivered
//!   message is acknowledged again, not shown again);
//! * keeps the newest `notifTime` of `unread` pushes and sends it back as
//!   `lastUnreadNotifTime` when it reopens the session after losing the connection (§4.6);
//! * on `session/closed` 4111 tells the user and stays logged out (§4.2);
//! * shows `patch` pushes as recalls or edits (§4.7).

use std::collections::{BTreeSet, VecDeque};

use serde_json::{Value, json};

use super::Op;
use super::mutant::Mutant;

/// What the I/O loop must do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Open the WebSocket connection (`IMSPEC_LEANCLOUD`); on failure call
    /// [`Client::connect_failed`].
    Connect,
    /// Send this command (readable form).
    Send(Value),
    /// Write this line to the driver's stdout (an answer or an event).
    Line(Value),
    /// Close the connection (after logout).
    Disconnect,
}

/// The reference client.
#[derive(Debug, Default)]
pub struct Client {
    mutant: Option<Mutant>,
    app_id: String,
    user: Option<String>,
    next_i: i64,
    waiting: Vec<Waiting>,
    seen: BTreeSet<String>,
    notif_time: Option<i64>,
    state: State,
    out: VecDeque<Output>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// No session and none wanted.
    #[default]
    Offline,
    /// A session is open or being opened.
    Online,
    /// The server closed the session with 4111: stay out.
    Conflicted,
}

#[derive(Debug)]
struct Waiting {
    i: i64,
    /// The op's `id`, `None` for a command no op asked for (a reopen after a drop).
    id: Option<Value>,
    op: &'static str,
}

impl Client {
    /// A client, optionally with one rule broken.
    pub fn new(mutant: Option<Mutant>) -> Self {
        Self {
            mutant,
            app_id: "imspec".into(),
            next_i: 1,
            ..Self::default()
        }
    }

    /// The next thing to do.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// A driver op (`{"op":…, "id":…, …}`).
    pub fn op(&mut self, op: &Value) {
        let (id, op) = Op::decode(op);
        match op {
            Err(e) => self.answer(id, Err(e)),
            Ok(Op::Ping) => self.answer(id, Ok(())),
            Ok(Op::Login { user, app_id, .. }) => {
                if let Some(app) = app_id {
                    self.app_id = app;
                }
                self.user = Some(user);
                if self.state != State::Online {
                    self.out.push_back(Output::Connect);
                }
                self.state = State::Online;
                let open = self.open_command(false);
                self.request("login", id, open);
            }
            Ok(Op::Send { to, text: body }) => {
                let cmd = json!({"cmd": "direct", "directMessage": {"cid": to, "msg": body}});
                self.request("send", id, cmd);
            }
            Ok(Op::Logout) => {
                let cmd = json!({"cmd": "session", "op": "close"});
                self.request("logout", id, cmd);
            }
            Ok(other) => self.answer(id, Err(other.unsupported())),
        }
    }

    /// A command from the server (readable form).
    pub fn frame(&mut self, cmd: &Value) {
        let s = |v: &Value, path: &[&str]| -> Option<String> {
            let mut at = v;
            for p in path {
                at = at.get(p)?;
            }
            match at {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        };
        let kind = (s(cmd, &["cmd"]), s(cmd, &["op"]));
        if let Some(i) = cmd.get("i").and_then(Value::as_i64) {
            return self.reply(i, cmd, &kind);
        }
        match (kind.0.as_deref(), kind.1.as_deref()) {
            (Some("direct"), _) => self.delivered(cmd),
            (Some("unread"), _) => {
                let u = cmd.get("unreadMessage").unwrap_or(&Value::Null);
                if let Some(t) = u.get("notifTime").and_then(Value::as_i64)
                    && self.mutant != Some(Mutant::LcNoNotifTime)
                {
                    self.notif_time = Some(self.notif_time.map_or(t, |n| n.max(t)));
                }
                for c in u
                    .get("convs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.event(json!({
                        "event": "unread",
                        "conv": s(c, &["cid"]),
                        "count": c.get("unread").and_then(Value::as_i64).unwrap_or(0),
                    }));
                }
            }
            (Some("session"), Some("closed")) => {
                let code = cmd
                    .get("sessionMessage")
                    .and_then(|m| m.get("code"))
                    .and_then(Value::as_i64);
                if code == Some(4111) && self.mutant != Some(Mutant::LcIgnoresConflict) {
                    self.state = State::Conflicted;
                    self.event(json!({
                        "event": "conflict",
                        "code": 4111,
                        "reason": s(cmd, &["sessionMessage", "reason"]),
                    }));
                }
            }
            (Some("patch"), _) if self.mutant != Some(Mutant::LcIgnoresPatch) => {
                let patches = cmd
                    .get("patchMessage")
                    .and_then(|p| p.get("patches"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for p in patches {
                    let recall = p.get("recall").and_then(Value::as_bool) == Some(true);
                    let mut e = json!({
                        "event": if recall { "recalled" } else { "patched" },
                        "conv": s(&p, &["cid"]),
                        "id": s(&p, &["mid"]),
                    });
                    if !recall {
                        e["text"] = json!(s(&p, &["data"]));
                    }
                    self.event(e);
                }
            }
            _ => {}
        }
    }

    /// The connection ended (or could not be opened).
    pub fn closed(&mut self) {
        for w in std::mem::take(&mut self.waiting) {
            self.answer(
                w.id,
                Err(format!("connection lost before the reply to `{}`", w.op)),
            );
        }
        // A dropped link is reopened (the SDK's reconnect); a conflict or logout is not.
        if self.state == State::Online && self.user.is_some() {
            self.out.push_back(Output::Connect);
            let open = self.open_command(true);
            self.request("reopen", None, open);
        }
    }

    /// Opening the connection failed: every waiting op fails and the client stays offline
    /// (no reconnect loop).
    pub fn connect_failed(&mut self, why: &str) {
        for w in std::mem::take(&mut self.waiting) {
            self.answer(w.id, Err(format!("cannot connect: {why}")));
        }
        self.state = State::Offline;
        self.out.retain(|o| matches!(o, Output::Line(_)));
    }

    fn open_command(&self, reopen: bool) -> Value {
        let mut session = json!({"ua": "imspec-reference/1"});
        if reopen {
            session["r"] = json!(true);
            if let Some(t) = self.notif_time {
                session["lastUnreadNotifTime"] = json!(t);
            }
        }
        json!({
            "cmd": "session",
            "op": "open",
            "appId": self.app_id,
            "peerId": self.user,
            "sessionMessage": session,
        })
    }

    fn request(&mut self, op: &'static str, id: Option<Value>, mut cmd: Value) {
        let i = self.next_i;
        self.next_i += 1;
        cmd["i"] = json!(i);
        self.waiting.push(Waiting { i, id, op });
        self.out.push_back(Output::Send(cmd));
    }

    fn reply(&mut self, i: i64, cmd: &Value, kind: &(Option<String>, Option<String>)) {
        let pos = if self.mutant == Some(Mutant::LcPairsByOrder) {
            (!self.waiting.is_empty()).then_some(0)
        } else {
            self.waiting.iter().position(|w| w.i == i)
        };
        let Some(pos) = pos else { return };
        let w = self.waiting.remove(pos);
        let failure = cmd
            .get("errorMessage")
            .or_else(|| cmd.get("ackMessage").filter(|a| a.get("code").is_some()))
            .filter(|_| kind.0.as_deref() == Some("error") || kind.0.as_deref() == Some("ack"));
        let outcome = match failure {
            Some(m) if m.get("code").is_some() => Err(format!(
                "{} {}",
                m.get("code").map(ToString::to_string).unwrap_or_default(),
                m.get("reason").and_then(Value::as_str).unwrap_or("")
            )),
            _ if kind.0.as_deref() == Some("error") => Err("error".into()),
            _ => Ok(()),
        };
        if w.op == "logout" && outcome.is_ok() {
            self.state = State::Offline;
            self.out.push_back(Output::Disconnect);
        }
        if w.op == "reopen" && outcome.is_ok() {
            self.event(json!({"event": "reconnected"}));
        }
        self.answer(w.id, outcome);
    }

    fn delivered(&mut self, cmd: &Value) {
        let Some(m) = cmd.get("directMessage") else {
            return;
        };
        let get = |k: &str| m.get(k).cloned().unwrap_or(Value::Null);
        let from = get("fromPeerId");
        let own = from.as_str().is_some() && from.as_str() == self.user.as_deref();
        let transient = m.get("transient").and_then(Value::as_bool) == Some(true);
        if !own && !transient && self.mutant != Some(Mutant::LcNoAck) {
            self.out.push_back(Output::Send(json!({
                "cmd": "ack",
                "ackMessage": {
                    "cid": get("cid"),
                    "mid": get("id"),
                    "fromts": get("timestamp"),
                    "tots": get("timestamp"),
                },
            })));
        }
        let id = get("id").as_str().unwrap_or_default().to_owned();
        if self.seen.insert(id) || self.mutant == Some(Mutant::LcDuplicates) {
            self.event(json!({
                "event": "received",
                "from": from,
                "conv": get("cid"),
                "id": get("id"),
                "text": get("msg"),
            }));
        }
    }

    fn answer(&mut self, id: Option<Value>, outcome: Result<(), String>) {
        if let Some(line) = super::answer(id, outcome) {
            self.out.push_back(Output::Line(line));
        }
    }

    fn event(&mut self, e: Value) {
        self.out.push_back(Output::Line(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(c: &mut Client) -> Vec<Output> {
        std::iter::from_fn(|| c.poll()).collect()
    }

    fn sent_i(out: &[Output]) -> Vec<i64> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(c) => c.get("i").and_then(Value::as_i64),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn leancloud_client_pairs_replies_by_i_in_any_order() {
        let mut c = Client::new(None);
        c.op(&json!({"op": "login", "user": "alice", "id": 1}));
        let out = drain(&mut c);
        assert_eq!(out[0], Output::Connect);
        c.frame(&json!({"cmd": "session", "op": "opened", "i": sent_i(&out)[0]}));
        assert_eq!(drain(&mut c), [Output::Line(json!({"ok": true, "id": 1}))]);
        c.op(&json!({"op": "send", "to": "c1", "text": "a", "id": 2}));
        c.op(&json!({"op": "send", "to": "c1", "text": "b", "id": 3}));
        let i = sent_i(&drain(&mut c));
        c.frame(&json!({"cmd": "ack", "i": i[1], "ackMessage": {"code": 4401, "reason": "no"}}));
        c.frame(&json!({"cmd": "ack", "i": i[0], "ackMessage": {"uid": "m", "t": 5}}));
        assert_eq!(
            drain(&mut c),
            [
                Output::Line(json!({"ok": false, "id": 3, "error": "4401 no"})),
                Output::Line(json!({"ok": true, "id": 2})),
            ]
        );
    }

    #[test]
    fn leancloud_client_acks_and_shows_a_message_once() {
        let mut c = Client::new(None);
        c.op(&json!({"op": "login", "user": "alice", "id": 1}));
        drain(&mut c);
        let push = json!({"cmd": "direct", "directMessage": {"id": "m1", "cid": "c", "fromPeerId": "bob", "timestamp": 9, "msg": "hi"}});
        c.frame(&push);
        let first = drain(&mut c);
        assert!(
            matches!(&first[0], Output::Send(a) if a["cmd"] == "ack" && a["ackMessage"]["mid"] == "m1")
        );
        assert!(matches!(&first[1], Output::Line(e) if e["event"] == "received"));
        c.frame(&push);
        let again = drain(&mut c);
        assert_eq!(again.len(), 1, "acked again, not shown again: {again:?}");
    }

    #[test]
    fn leancloud_client_reopens_with_notif_time_but_not_after_conflict() {
        let mut c = Client::new(None);
        c.op(&json!({"op": "login", "user": "alice", "id": 1}));
        drain(&mut c);
        c.frame(&json!({"cmd": "unread", "unreadMessage": {"notifTime": 77, "convs": []}}));
        c.closed();
        let out = drain(&mut c);
        assert!(out.contains(&Output::Connect));
        assert!(out.iter().any(
            |o| matches!(o, Output::Send(s) if s["sessionMessage"]["lastUnreadNotifTime"] == 77)
        ));
        c.frame(&json!({"cmd": "session", "op": "closed", "sessionMessage": {"code": 4111}}));
        c.closed();
        let out = drain(&mut c);
        assert!(!out.contains(&Output::Connect), "{out:?}");
    }
}
