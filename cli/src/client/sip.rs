//! The reference SIP user agent (docs/protocols/sip.md, RFC 3261, RFC 3428, RFC 3842),
//! sans-IO: driver ops, parsed messages and the clock go in ([`Client::op`],
//! [`Client::message`], [`Client::timeout`], each with `now`); what to do comes out of
//! [`Client::poll`], the next timer of [`Client::next_timeout`]. One TCP flow to the
//! registrar carries everything (its Contact names that flow).
//!
//! What it does, each a rule of a client case:
//! * REGISTERs on `login` and refreshes the binding at half the granted expiry (RFC 3261
//!   §10.2.4), on the same Call-ID with a higher CSeq;
//! * SUBSCRIBEs to `message-summary` once registered (RFC 3842 §3) and answers every NOTIFY
//!   with 200 (RFC 6665 §4.1.3), showing the summary's counts;
//! * answers every MESSAGE with 200 (RFC 3428 §7) — also the stored ones the server dumps
//!   after REGISTER — and shows it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use imspec_codec::sip::{self, Message};
use serde_json::{Value, json};

use super::mutant::Mutant;
use super::{Op, Output, Peer};

/// The reference user agent.
#[derive(Debug)]
pub struct Client {
    mutant: Option<Mutant>,
    server: String,
    local: String,
    user: Option<String>,
    cseq: u32,
    unique: u64,
    reg_call_id: String,
    sub_call_id: String,
    refresh_at: Option<Instant>,
    subscribed: bool,
    /// The `id` of a `login` waiting for the flow to open.
    login: Option<Option<Value>>,
    waiting: Vec<Waiting>,
    out: VecDeque<Output>,
}

#[derive(Debug)]
struct Waiting {
    call_id: String,
    cseq: u32,
    id: Option<Value>,
    op: &'static str,
}

/// Expiry asked for in REGISTER.
const EXPIRES: u32 = 3600;

impl Client {
    /// A user agent for the registrar at `server` (`host:port`).
    pub fn new(server: &str, mutant: Option<Mutant>) -> Self {
        Self {
            mutant,
            server: server.to_owned(),
            local: "127.0.0.1:0".into(),
            user: None,
            cseq: 0,
            unique: 0,
            reg_call_id: String::new(),
            sub_call_id: String::new(),
            refresh_at: None,
            subscribed: false,
            login: None,
            waiting: Vec::new(),
            out: VecDeque::new(),
        }
    }

    /// The next thing to do.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`timeout`](Self::timeout) wants to run next.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.refresh_at
    }

    /// The flow is open: its local address names it in Via and Contact; a waiting `login`
    /// REGISTERs now.
    pub fn connected(&mut self, local: &str) {
        local.clone_into(&mut self.local);
        if let Some(id) = self.login.take() {
            self.register(id, "login", EXPIRES);
        }
    }

    /// The flow could not be opened.
    pub fn connect_failed(&mut self, why: &str) {
        if let Some(id) = self.login.take() {
            self.answer(id, Err(format!("cannot connect: {why}")));
        }
    }

    /// A driver op.
    pub fn op(&mut self, op: &Value, _now: Instant) {
        let (id, op) = Op::decode(op);
        match op {
            Err(e) => self.answer(id, Err(e)),
            Ok(Op::Ping) => self.answer(id, Ok(())),
            Ok(Op::Login { user, .. }) => {
                self.user = Some(user);
                self.reg_call_id = format!("reg-{}@imspec-ua", self.next_unique());
                self.login = Some(id);
                self.out.push_back(Output::Connect);
            }
            Ok(Op::Send { to, text: body }) => {
                let uri = if to.starts_with("sip:") {
                    to
                } else {
                    format!("sip:{to}@{}", self.server)
                };
                let call_id = format!("msg-{}@imspec-ua", self.next_unique());
                let msg = self
                    .request(sip::Method::MESSAGE, &uri, &call_id, &uri)
                    .with_header("Content-Type", "text/plain;charset=UTF-8")
                    .with_body(body.into_bytes());
                self.send_request(msg, call_id, id, "send");
            }
            Ok(Op::Logout) => {
                self.refresh_at = None;
                self.register(id, "logout", 0);
            }
            Ok(other) => self.answer(id, Err(other.unsupported())),
        }
    }

    /// A message from the server.
    pub fn message(&mut self, msg: &Message<'_>, now: Instant) {
        if let Some(status) = msg.status() {
            return self.response(msg, status, now);
        }
        let method = msg
            .method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        match method.as_str() {
            "MESSAGE" => {
                if self.mutant != Some(Mutant::SipNo200ToMessage) {
                    self.respond(msg, 200, "OK");
                }
                let from = msg
                    .from()
                    .and_then(Result::ok)
                    .map(|f| f.uri.to_string())
                    .unwrap_or_default();
                self.event(json!({
                    "event": "received",
                    "from": from,
                    "text": msg.body_text().unwrap_or_default(),
                }));
            }
            "NOTIFY" => {
                if self.mutant != Some(Mutant::SipNo200ToNotify) {
                    self.respond(msg, 200, "OK");
                }
                let is_summary = msg
                    .content_type()
                    .and_then(Result::ok)
                    .is_some_and(|c| c.is("application", "simple-message-summary"));
                if is_summary && let Ok(s) = msg.message_summary() {
                    let (new, old) = s.summaries.iter().fold((0u64, 0u64), |(n, o), x| {
                        (n + u64::from(x.new), o + u64::from(x.old))
                    });
                    self.event(json!({
                        "event": "message-waiting",
                        "waiting": s.waiting,
                        "new": new,
                        "old": old,
                    }));
                }
            }
            "OPTIONS" => self.respond(msg, 200, "OK"),
            // RFC 3261 §8.2.1: a method we do not implement is answered 405.
            _ => self.respond(msg, 405, "Method Not Allowed"),
        }
    }

    /// The clock moved: refresh the registration when due.
    pub fn timeout(&mut self, now: Instant) {
        if self.refresh_at.is_some_and(|t| t <= now) {
            self.refresh_at = None;
            self.register(None, "refresh", EXPIRES);
        }
    }

    /// The flow ended.
    pub fn closed(&mut self) {
        self.refresh_at = None;
        for w in std::mem::take(&mut self.waiting) {
            self.answer(
                w.id,
                Err(format!("connection lost before the reply to `{}`", w.op)),
            );
        }
    }

    fn response(&mut self, msg: &Message<'_>, status: u16, now: Instant) {
        if status < 200 {
            return;
        }
        let call_id = msg.call_id().unwrap_or_default().to_owned();
        let cseq = msg.cseq().and_then(Result::ok).map(|c| c.number);
        let Some(pos) = self
            .waiting
            .iter()
            .position(|w| w.call_id == call_id && Some(w.cseq) == cseq)
        else {
            return;
        };
        let w = self.waiting.remove(pos);
        let ok = (200..300).contains(&status);
        if ok && (w.op == "login" || w.op == "refresh") {
            // RFC 3261 §10.2.4: the granted expiry is the Contact's `expires`, else Expires.
            let granted = msg
                .contacts()
                .ok()
                .and_then(|c| {
                    c.first()
                        .and_then(|c| c.param("expires")?.parse::<u32>().ok())
                })
                .or_else(|| msg.expires().and_then(Result::ok))
                .unwrap_or(EXPIRES);
            if self.mutant != Some(Mutant::SipNoRefresh) {
                self.refresh_at = Some(now + Duration::from_millis(u64::from(granted) * 500));
            }
            if !self.subscribed {
                self.subscribed = true;
                self.subscribe();
            }
        }
        if w.op == "logout" && ok {
            self.out.push_back(Output::Disconnect);
        }
        let outcome = if ok {
            Ok(())
        } else {
            Err(format!("{status} {}", reason_of(msg)))
        };
        self.answer(w.id, outcome);
    }

    fn register(&mut self, id: Option<Value>, op: &'static str, expires: u32) {
        let aor = self.aor();
        let call_id = self.reg_call_id.clone();
        let contact = format!("<sip:{}@{};transport=tcp>", self.user_name(), self.local);
        let msg = self
            .request(
                sip::Method::REGISTER,
                &format!("sip:{}", self.server),
                &call_id,
                &aor,
            )
            .with_header("Contact", contact)
            .with_header("Expires", expires.to_string())
            .with_body(Vec::new());
        self.send_request(msg, call_id, id, op);
    }

    fn subscribe(&mut self) {
        let aor = self.aor();
        self.sub_call_id = format!("sub-{}@imspec-ua", self.next_unique());
        let call_id = self.sub_call_id.clone();
        let contact = format!("<sip:{}@{};transport=tcp>", self.user_name(), self.local);
        let msg = self
            .request(sip::Method::SUBSCRIBE, &aor, &call_id, &aor)
            .with_header("Contact", contact)
            .with_header("Event", "message-summary")
            .with_header("Accept", "application/simple-message-summary")
            .with_header("Expires", EXPIRES.to_string())
            .with_body(Vec::new());
        self.send_request(msg, call_id, None, "subscribe");
    }

    fn request(
        &mut self,
        method: sip::Method<'static>,
        uri: &str,
        call_id: &str,
        to: &str,
    ) -> Message<'static> {
        self.cseq += 1;
        let branch = format!("z9hG4bK-ua{}", self.next_unique());
        let tag = format!("t{}", self.next_unique());
        let cseq = format!("{} {method}", self.cseq);
        Message::request(method, uri.to_owned())
            .with_header("Via", format!("SIP/2.0/TCP {};branch={branch}", self.local))
            .with_header("Max-Forwards", "70")
            .with_header("From", format!("<{}>;tag={tag}", self.aor()))
            .with_header("To", format!("<{to}>"))
            .with_header("Call-ID", call_id.to_owned())
            .with_header("CSeq", cseq)
    }

    fn send_request(
        &mut self,
        msg: Message<'_>,
        call_id: String,
        id: Option<Value>,
        op: &'static str,
    ) {
        let mut bytes = Vec::new();
        msg.encode(&mut bytes);
        self.waiting.push(Waiting {
            call_id,
            cseq: self.cseq,
            id,
            op,
        });
        self.out.push_back(Output::Send(bytes));
    }

    /// A response copying Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2), To tagged.
    fn respond(&mut self, req: &Message<'_>, status: u16, reason: &str) {
        let mut msg = Message::response(status, reason.to_owned());
        for h in req.headers.0.iter() {
            let name = sip::header::full_name(&h.name);
            if ["Via", "From", "Call-ID", "CSeq"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                msg = msg.with_header(h.name.to_string(), h.value.to_string());
            } else if name.eq_ignore_ascii_case("To") {
                let value = if h.value.contains(";tag=") {
                    h.value.to_string()
                } else {
                    format!("{};tag=ua{}", h.value, self.unique)
                };
                msg = msg.with_header(h.name.to_string(), value);
            }
        }
        let msg = msg.with_body(Vec::new());
        let mut bytes = Vec::new();
        msg.encode(&mut bytes);
        self.out.push_back(Output::Send(bytes));
    }

    fn aor(&self) -> String {
        format!("sip:{}@{}", self.user_name(), self.server)
    }

    fn user_name(&self) -> &str {
        self.user.as_deref().unwrap_or("anonymous")
    }

    fn next_unique(&mut self) -> u64 {
        self.unique += 1;
        self.unique
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

fn reason_of(msg: &Message<'_>) -> String {
    match &msg.start {
        sip::StartLine::Response { reason, .. } => reason.to_string(),
        sip::StartLine::Request { .. } => String::new(),
    }
}

impl Peer for Client {
    type Msg<'a> = Message<'a>;
    fn parse(buf: &[u8]) -> imspec_codec::Result<(Message<'_>, usize)> {
        // Leading CRLFs are RFC 5626 keep-alives.
        let limits = sip::Limits {
            allow_leading_crlf: true,
            ..sip::Limits::default()
        };
        sip::parse_with(buf, &limits)
    }
    fn poll(&mut self) -> Option<Output> {
        Self::poll(self)
    }
    fn next_timeout(&self) -> Option<Instant> {
        Self::next_timeout(self)
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
    fn op(&mut self, op: &Value, now: Instant) {
        Self::op(self, op, now);
    }
    fn message(&mut self, msg: &Message<'_>, now: Instant) {
        Self::message(self, msg, now);
    }
    fn timeout(&mut self, now: Instant) {
        Self::timeout(self, now);
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
        match sip::parse(bytes) {
            Ok(Status::Complete((m, _))) => m,
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

    fn ok_to(req: &Message<'_>, extra: &str) -> Vec<u8> {
        let mut r = Message::response(200, "OK");
        for n in ["Via", "From", "To", "Call-ID", "CSeq"] {
            r = r.with_header(n, req.header(n).unwrap_or_default().to_owned());
        }
        if !extra.is_empty() {
            r = r.with_header("Contact", extra.to_owned());
        }
        r.with_body(Vec::new()).to_bytes()
    }

    #[test]
    fn sip_client_registers_after_connect_and_refreshes_at_half_expiry() {
        let now = Instant::now();
        let mut c = Client::new("127.0.0.1:5060", None);
        c.op(&json!({"op": "login", "user": "alice", "id": 1}), now);
        assert_eq!(drain(&mut c), [Output::Connect]);
        c.connected("127.0.0.1:40000");
        let reg = sent(&drain(&mut c)).remove(0);
        let reg = parsed(&reg);
        assert_eq!(reg.method(), Some(&sip::Method::REGISTER));
        assert!(reg.header("Contact").unwrap().contains("127.0.0.1:40000"));
        let ok = ok_to(&reg, "<sip:alice@127.0.0.1:40000;transport=tcp>;expires=10");
        c.message(&parsed(&ok), now);
        let out = drain(&mut c);
        assert!(out.contains(&Output::Line(json!({"ok": true, "id": 1}))));
        assert_eq!(c.next_timeout(), Some(now + Duration::from_secs(5)));
        c.timeout(now + Duration::from_secs(5));
        let again = sent(&drain(&mut c)).remove(0);
        let again = parsed(&again);
        assert_eq!(again.call_id(), reg.call_id());
        assert!(again.cseq().unwrap().unwrap().number > reg.cseq().unwrap().unwrap().number);
    }

    #[test]
    fn sip_client_answers_message_with_200_echoing_the_transaction() {
        let now = Instant::now();
        let mut c = Client::new("127.0.0.1:5060", None);
        let req = b"MESSAGE sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-1\r\nFrom: <sip:bob@x>;tag=a\r\nTo: <sip:alice@x>\r\nCall-ID: c1\r\nCSeq: 7 MESSAGE\r\nContent-Length: 2\r\n\r\nhi";
        c.message(&parsed(req), now);
        let out = drain(&mut c);
        let resp = sent(&out).remove(0);
        let resp = parsed(&resp);
        assert_eq!(resp.status(), Some(200));
        assert_eq!(resp.call_id(), Some("c1"));
        assert_eq!(resp.header("CSeq"), Some("7 MESSAGE"));
        assert!(resp.header("To").unwrap().contains(";tag="));
        assert!(out.contains(&Output::Line(
            json!({"event": "received", "from": "sip:bob@x", "text": "hi"})
        )));
    }
}
