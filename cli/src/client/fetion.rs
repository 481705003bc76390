//! The reference Fetion SIP-C/2.0 client (docs/protocols/fetion.md), sans-IO: driver ops and
//! parsed messages go in ([`Client::op`], [`Client::message`]); what to do comes out of
//! [`Client::poll`]. One TCP connection to the main server carries everything.
//!
//! What it does, each a rule of a client case (`scenarios/clients/fetion/`):
//! * logs in with `R`, answers the `401`'s `W: Digest … nonce="…"` with a second `R` carrying
//!   `A: Digest response="…",cnonce="…"`, the MD5 response of §7.1
//!   ([`fetion_digest`]);
//! * gives every request its own `I` (call id) and counts `Q` per call id (§9.1);
//! * answers every request the server pushes (`M`, `I`, `BN`, …) with `SIP-C/2.0 200 OK`
//!   echoing its `I` and `Q` byte for byte (§9.1), and shows what it carried;
//! * writes `L` as the UTF-8 byte length of the body (§9.3).

use std::collections::VecDeque;

use imspec_codec::sipc::digest::{FETION_DOMAIN, fetion_digest};
use imspec_codec::sipc::{self, Message, Version};
use serde_json::{Value, json};

use super::mutant::Mutant;
use super::{Op, Output, Peer};

/// The reference client.
#[derive(Debug)]
pub struct Client {
    mutant: Option<Mutant>,
    user: Option<String>,
    password: String,
    /// The last call id used (`I`).
    call: u64,
    /// The `id` of a `login` waiting for the connection to open.
    login: Option<Option<Value>>,
    waiting: Vec<Waiting>,
    out: VecDeque<Output>,
}

#[derive(Debug)]
struct Waiting {
    call: u64,
    cseq: u64,
    id: Option<Value>,
    op: &'static str,
}

impl Client {
    /// A client with no account yet (the `login` op names it).
    pub fn new(mutant: Option<Mutant>) -> Self {
        Self {
            mutant,
            user: None,
            password: String::new(),
            call: 0,
            login: None,
            waiting: Vec::new(),
            out: VecDeque::new(),
        }
    }

    /// The next thing to do.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The connection is open: a waiting `login` sends its first `R` now.
    pub fn connected(&mut self, _local: &str) {
        if let Some(id) = self.login.take() {
            let call = self.next_call();
            self.register(call, 1, None, id, "login");
        }
    }

    /// The connection could not be opened.
    pub fn connect_failed(&mut self, why: &str) {
        if let Some(id) = self.login.take() {
            self.answer(id, Err(format!("cannot connect: {why}")));
        }
    }

    /// A driver op.
    pub fn op(&mut self, op: &Value) {
        let (id, op) = Op::decode(op);
        match op {
            Err(e) => self.answer(id, Err(e)),
            Ok(Op::Ping) => self.answer(id, Ok(())),
            Ok(Op::Login { user, password, .. }) => {
                self.user = Some(user);
                self.password = password;
                self.login = Some(id);
                self.out.push_back(Output::Connect);
            }
            Ok(Op::Send { to, text: body }) => {
                let target = if to.starts_with("sip:") || to.starts_with("tel:") {
                    to
                } else {
                    format!("sip:{to}@{FETION_DOMAIN}")
                };
                let call = self.next_call();
                let mut msg = self.request("M", &target, call, 1);
                msg.headers.push("C", "text/plain");
                msg.headers.push("K", "SaveHistory");
                self.push_body(&mut msg, body.into_bytes());
                self.send(&msg, call, 1, id, "send");
            }
            Ok(Op::Logout) => {
                let call = self.next_call();
                let mut msg = self.request("R", FETION_DOMAIN, call, 1);
                msg.headers.push("X", "0");
                self.send(&msg, call, 1, id, "logout");
            }
            Ok(other) => self.answer(id, Err(other.unsupported())),
        }
    }

    /// A message from the server.
    pub fn message(&mut self, msg: &Message<'_>) {
        if let Some(status) = msg.status() {
            return self.response(msg, status);
        }
        let method = msg
            .method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        if self.mutant != Some(Mutant::FetionNo200) || method != "M" {
            self.respond_ok(msg);
        }
        let from = msg.header("F").unwrap_or_default().to_owned();
        let text = msg.body_text().unwrap_or_default().to_owned();
        match method.as_str() {
            "M" => self.event(json!({"event": "received", "from": from, "text": text})),
            "I" => self.event(json!({"event": "invited", "from": from})),
            "BN" => {
                let event = msg.header("N").unwrap_or_default().to_owned();
                self.event(json!({"event": "notified", "name": event, "body": text}));
            }
            _ => {}
        }
    }

    /// The connection ended.
    pub fn closed(&mut self) {
        for w in std::mem::take(&mut self.waiting) {
            self.answer(
                w.id,
                Err(format!("connection lost before the reply to `{}`", w.op)),
            );
        }
    }

    fn response(&mut self, msg: &Message<'_>, status: u16) {
        if status < 200 {
            return;
        }
        let call = msg.call_id().and_then(Result::ok).map(|c| c.0);
        let cseq = msg.cseq().and_then(Result::ok).map(|q| q.number);
        let Some(pos) = self.waiting.iter().position(|w| {
            Some(i64::try_from(w.call).unwrap_or(-1)) == call && Some(w.cseq) == cseq
        }) else {
            return;
        };
        let w = self.waiting.remove(pos);
        match (w.op, status) {
            ("login", 401) if w.cseq == 1 => {
                let nonce = msg
                    .challenge()
                    .and_then(Result::ok)
                    .and_then(|c| c.nonce().map(str::to_owned));
                let Some(nonce) = nonce else {
                    return self.answer(w.id, Err("401 without a Digest nonce in W".into()));
                };
                self.register(w.call, 2, Some(&nonce), w.id, "login");
            }
            (_, 200..=299) => {
                self.answer(w.id, Ok(()));
                if w.op == "logout" {
                    self.out.push_back(Output::Disconnect);
                }
            }
            (op, _) => {
                let reason = msg
                    .header("W")
                    .map_or(String::new(), |_| " (challenge)".into());
                self.answer(w.id, Err(format!("`{op}` answered {status}{reason}")));
            }
        }
    }

    /// `R` number `cseq` of call `call`; with a nonce, the digest answer to the challenge.
    fn register(
        &mut self,
        call: u64,
        cseq: u64,
        nonce: Option<&str>,
        id: Option<Value>,
        op: &'static str,
    ) {
        let mut msg = self.request("R", FETION_DOMAIN, call, cseq);
        if let Some(nonce) = nonce {
            let user = self.user.clone().unwrap_or_default();
            let cnonce = format!("{:016X}", call.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let response = if self.mutant == Some(Mutant::FetionHexKey) {
                // The common slip: the key as 32 hex digits instead of 16 raw bytes.
                let key = imspec_codec::sipc::digest::md5_hex_upper(
                    format!("{user}:{FETION_DOMAIN}:{}", self.password).as_bytes(),
                );
                let h1 = imspec_codec::sipc::digest::md5_hex_upper(
                    format!("{key}:{nonce}:{cnonce}").as_bytes(),
                );
                let h2 = imspec_codec::sipc::digest::md5_hex_upper(
                    format!("REGISTER:{user}").as_bytes(),
                );
                imspec_codec::sipc::digest::md5_hex_upper(format!("{h1}:{nonce}:{h2}").as_bytes())
            } else {
                fetion_digest(&user, FETION_DOMAIN, &self.password, nonce, &cnonce)
            };
            msg.headers.push(
                "A",
                format!("Digest response=\"{response}\",cnonce=\"{cnonce}\""),
            );
        }
        self.send(&msg, call, cseq, id, op);
    }

    fn request(&self, method: &str, target: &str, call: u64, cseq: u64) -> Message<'static> {
        let method = sipc::Method::new(method.to_owned()).unwrap_or_else(|| {
            sipc::Method::new("S".to_owned()).unwrap_or_else(|| unreachable!("`S` is a token"))
        });
        let q = format!("{cseq} {}", method.as_str());
        let mut msg = Message::request(method, target.to_owned(), Version::V2);
        msg.headers.push("F", self.user.clone().unwrap_or_default());
        msg.headers.push("I", call.to_string());
        msg.headers.push("Q", q);
        msg
    }

    /// The body with its `L` (the codec writes the byte length; the mutant counts characters).
    fn push_body(&self, msg: &mut Message<'static>, body: Vec<u8>) {
        let chars = String::from_utf8_lossy(&body).chars().count();
        msg.set_body(body);
        if self.mutant == Some(Mutant::FetionLengthInChars) {
            msg.headers.set("L", chars.to_string());
        }
    }

    fn send(
        &mut self,
        msg: &Message<'_>,
        call: u64,
        cseq: u64,
        id: Option<Value>,
        op: &'static str,
    ) {
        self.waiting.push(Waiting { call, cseq, id, op });
        self.out.push_back(Output::Send(msg.to_bytes()));
    }

    /// `200 OK` echoing the request's `I` and `Q` (and `F`), §9.1.
    fn respond_ok(&mut self, req: &Message<'_>) {
        let mut resp = Message::response(req.version(), 200, "OK");
        for name in ["F", "I", "Q"] {
            if let Some(v) = req.header(name) {
                let v = if name == "Q" && self.mutant == Some(Mutant::FetionWrongQ) {
                    // Its own counter instead of the request's: `1 <method>`.
                    format!("1 {}", req.method().map_or("", |m| m.as_str()))
                } else {
                    v.to_owned()
                };
                resp.headers.push(name, v);
            }
        }
        self.out.push_back(Output::Send(resp.to_bytes()));
    }

    fn next_call(&mut self) -> u64 {
        self.call += 1;
        self.call
    }

    fn event(&mut self, v: Value) {
        self.out.push_back(Output::Line(v));
    }

    fn answer(&mut self, id: Option<Value>, outcome: Result<(), String>) {
        if let Some(line) = super::answer(id, outcome) {
            self.out.push_back(Output::Line(line));
        }
    }
}

impl Peer for Client {
    type Msg<'a> = Message<'a>;
    fn parse(buf: &[u8]) -> imspec_codec::Result<(Message<'_>, usize)> {
        sipc::parse(buf)
    }
    fn poll(&mut self) -> Option<Output> {
        Self::poll(self)
    }
    fn connected(&mut self, local: &str) {
        Self::connected(self, local);
    }
    fn connect_failed(&mut self, why: &str) {
        Self::connect_failed(self, why);
    }
    fn closed(&mut self) {
        Self::closed(self);
    }
    fn op(&mut self, op: &Value, _now: std::time::Instant) {
        Self::op(self, op);
    }
    fn message(&mut self, msg: &Message<'_>, _now: std::time::Instant) {
        Self::message(self, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imspec_codec::Status;

    fn drain(c: &mut Client) -> Vec<Output> {
        std::iter::from_fn(|| c.poll()).collect()
    }

    fn parsed(bytes: &[u8]) -> Message<'_> {
        match sipc::parse(bytes) {
            Ok(Status::Complete((m, n))) if n == bytes.len() => m,
            other => panic!("{other:?}"),
        }
    }

    fn sent(out: &[Output]) -> Vec<Vec<u8>> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(b) => Some(b.clone()),
                _ => None,
            })
            .collect()
    }

    fn logged_in(mutant: Option<Mutant>) -> (Client, Vec<u8>) {
        let mut c = Client::new(mutant);
        c.op(&json!({"op": "login", "user": "815389316", "password": "pw", "id": 1}));
        assert_eq!(drain(&mut c), [Output::Connect]);
        c.connected("127.0.0.1:40000");
        let r1 = sent(&drain(&mut c)).remove(0);
        let m1 = parsed(&r1);
        assert_eq!(m1.method().map(|m| m.as_str()), Some("R"));
        assert_eq!(
            (m1.header("F"), m1.header("Q")),
            (Some("815389316"), Some("1 R"))
        );
        let challenge = format!(
            "SIP-C/2.0 401 Unauthoried\r\nI: {}\r\nQ: 1 R\r\nW: Digest algorithm=\"MD5-sess\",nonce=\"N1\"\r\n\r\n",
            m1.header("I").unwrap()
        );
        c.message(&parsed(challenge.as_bytes()));
        let r2 = sent(&drain(&mut c)).remove(0);
        (c, r2)
    }

    #[test]
    fn fetion_client_answers_the_challenge_with_the_pyfetion_digest() {
        let (mut c, r2) = logged_in(None);
        let m2 = parsed(&r2);
        assert_eq!(m2.header("Q"), Some("2 R"));
        let auth = m2.auth().unwrap().unwrap();
        let cnonce = auth.param("cnonce").unwrap();
        let want = fetion_digest("815389316", FETION_DOMAIN, "pw", "N1", cnonce);
        assert_eq!(auth.param("response"), Some(want.as_str()));
        let ok = format!(
            "SIP-C/2.0 200 OK\r\nI: {}\r\nQ: 2 R\r\n\r\n",
            m2.header("I").unwrap()
        );
        c.message(&parsed(ok.as_bytes()));
        assert_eq!(drain(&mut c), [Output::Line(json!({"ok": true, "id": 1}))]);
        // The mutant's response differs.
        let (_, bad) = logged_in(Some(Mutant::FetionHexKey));
        let bad = parsed(&bad);
        let auth = bad.auth().unwrap().unwrap();
        let want = fetion_digest(
            "815389316",
            FETION_DOMAIN,
            "pw",
            "N1",
            auth.param("cnonce").unwrap(),
        );
        assert_ne!(auth.param("response"), Some(want.as_str()));
    }

    #[test]
    fn fetion_client_echoes_i_and_q_and_counts_bytes() {
        let (mut c, _) = logged_in(None);
        let push = "M 815389316 SIP-C/2.0\r\nF: sip:1@fetion.com.cn;p=1\r\nI: 7\r\nQ: 3 M\r\nL: 6\r\n\r\n你好";
        c.message(&parsed(push.as_bytes()));
        let out = drain(&mut c);
        let resp = sent(&out).remove(0);
        let resp = parsed(&resp);
        assert_eq!(
            (resp.status(), resp.header("I"), resp.header("Q")),
            (Some(200), Some("7"), Some("3 M"))
        );
        assert!(out.contains(&Output::Line(
            json!({"event": "received", "from": "sip:1@fetion.com.cn;p=1", "text": "你好"})
        )));
        c.op(&json!({"op": "send", "to": "2", "text": "你好", "id": 2}));
        let m = sent(&drain(&mut c)).remove(0);
        let m = parsed(&m);
        assert_eq!((m.header("L"), m.body_text()), (Some("6"), Some("你好")));
        assert_eq!(m.header("Q"), Some("1 M"));
    }
}
