//! The reference MSNP24 client (docs/protocols/msnp.md), sans-IO: driver ops, parsed commands
//! and the clock go in ([`Client::op`], [`Client::command`], [`Client::timeout`]); what to do
//! comes out of [`Client::poll`]. One TCP connection to the server carries everything.
//!
//! What it does, each a rule of a client case (`scenarios/clients/msnp/`):
//! * logs in with `CNT` → `ATH` (compact ticket `t=<password>`) → `BND` (§3), numbering its
//!   commands from 1 on the connection and pairing each reply with its command by TrID (§2.1,
//!   §2.3);
//! * keeps the newest `Set-Registration` and writes it as `Registration` on every later command
//!   with a payload (§2.4);
//! * pings with `PNG` after binding and again after the `<wait>` seconds each `PNG` reply gives
//!   (§3.4);
//! * pages `GET MSGR\MESSAGESBYCONVERSATION` with the last `<messagessyncstate>` while
//!   `<hasmore>` is true (§5.2, §5.4), showing every message.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use imspec_codec::msnp::{self, Command, msgr, payload::Payload};
use serde_json::{Value, json};

use super::mutant::Mutant;
use super::{Op, Output, Peer};

/// Messages asked for per history page.
const PAGE_SIZE: u32 = 50;

/// The reference client.
#[derive(Debug)]
pub struct Client {
    mutant: Option<Mutant>,
    user: String,
    password: String,
    trid: u32,
    registration: Option<String>,
    next_ping: Option<Instant>,
    /// The `id` of a `login` waiting for the connection to open.
    login: Option<Option<Value>>,
    waiting: Vec<Waiting>,
    out: VecDeque<Output>,
}

#[derive(Debug)]
struct Waiting {
    trid: u32,
    id: Option<Value>,
    step: Step,
}

#[derive(Debug)]
enum Step {
    Cnt,
    Ath,
    Bnd,
    Png,
    Send,
    History(String),
}

impl Client {
    /// A client with no account yet (the `login` op names it).
    pub fn new(mutant: Option<Mutant>) -> Self {
        Self {
            mutant,
            user: String::new(),
            password: String::new(),
            trid: 0,
            registration: None,
            next_ping: None,
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
        self.next_ping
    }

    /// The connection is open: a waiting `login` sends `CNT` now.
    pub fn connected(&mut self) {
        self.trid = 0;
        self.registration = None;
        if let Some(id) = self.login.take() {
            let body = "<connect><ver>2</ver><agent><os>linux</os><osVer>6</osVer><proc>x86_64</proc><lcid>en-us</lcid></agent></connect>";
            self.request("CNT", "CON", Some(body), id, Step::Cnt);
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
                self.user = user;
                self.password = password;
                self.login = Some(id);
                self.out.push_back(Output::Connect);
            }
            Ok(Op::Send { to, text: body }) => {
                let to = if to.contains(':') {
                    to
                } else {
                    format!("8:{to}")
                };
                let layered = format!(
                    "Routing: 1.0\r\nTo: {to}\r\nFrom: 8:{}\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\nMessage-Type: Text\r\nContent-Type: Text/plain; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
                    self.user,
                    body.len()
                );
                self.request("SDG", "MSGR", Some(&layered), id, Step::Send);
            }
            Ok(Op::History { conv }) => self.history(&conv, None, id),
            Ok(Op::Logout) => {
                self.trid += 1;
                let out = Command::new("OUT", Some(self.trid), Some("CON"));
                self.out.push_back(Output::Send(out.to_bytes()));
                self.out.push_back(Output::Disconnect);
                self.next_ping = None;
                self.answer(id, Ok(()));
            }
        }
    }

    /// A command from the server.
    pub fn command(&mut self, cmd: &Command<'_>, now: Instant) {
        let payload = cmd.parse_payload().and_then(Result::ok);
        if let Some(reg) = payload
            .as_ref()
            .and_then(|p| p.headers.get("Set-Registration"))
        {
            self.registration = Some(reg.to_owned());
        }
        let waiting = cmd
            .trid
            .and_then(|t| self.waiting.iter().position(|w| w.trid == t))
            .map(|i| self.waiting.remove(i));
        let Some(w) = waiting else {
            return self.push(cmd, payload.as_ref());
        };
        if let Some(code) = cmd.error_code() {
            return self.answer(w.id, Err(format!("error {code}")));
        }
        let body = payload
            .as_ref()
            .and_then(Payload::body_text)
            .unwrap_or_default();
        match w.step {
            Step::Cnt => {
                let body = format!(
                    "<user><ssl-compact-ticket>t={}</ssl-compact-ticket><id>{}</id></user>",
                    self.password, self.user
                );
                self.request("ATH", "CON\\USER", Some(&body), w.id, Step::Ath);
            }
            Step::Ath => {
                let body = "<msgr><ver>2</ver><client><name>imspec</name><ver>1.0</ver></client><epid>{00000000-0000-0000-0000-0000000000ff}</epid></msgr>";
                self.request("BND", "CON\\MSGR", Some(body), w.id, Step::Bnd);
            }
            Step::Bnd => {
                self.answer(w.id, Ok(()));
                if self.mutant != Some(Mutant::MsnpNoPng) {
                    self.request("PNG", "CON", None, None, Step::Png);
                }
            }
            Step::Png => {
                let wait = ping_wait(body).unwrap_or(50);
                self.next_ping = Some(now + Duration::from_secs(wait));
            }
            Step::Send => self.answer(w.id, Ok(())),
            Step::History(conv) => {
                let page = match msgr::MessagesByConversationResponse::parse(body) {
                    Ok(page) => page,
                    Err(e) => return self.answer(w.id, Err(format!("history page: {e}"))),
                };
                // Newest first on the wire (§5.2); shown oldest first.
                for m in page.messages.iter().rev() {
                    self.event(json!({
                        "event": "received",
                        "conv": conv,
                        "from": m.from,
                        "id": m.message_id.to_string(),
                        "text": m.content,
                    }));
                }
                if page.has_more && self.mutant != Some(Mutant::MsnpOnePage) {
                    let state = page.messages_sync_state.into_owned();
                    self.history(&conv, Some(&state), w.id);
                } else {
                    self.answer(w.id, Ok(()));
                }
            }
        }
    }

    /// The clock reached [`next_timeout`](Self::next_timeout): ping.
    pub fn timeout(&mut self, now: Instant) {
        if self.next_ping.is_some_and(|t| t <= now) {
            self.next_ping = None;
            self.request("PNG", "CON", None, None, Step::Png);
        }
    }

    /// The connection ended.
    pub fn closed(&mut self) {
        self.next_ping = None;
        for w in std::mem::take(&mut self.waiting) {
            self.answer(w.id, Err("connection lost before the reply".into()));
        }
    }

    /// A command that pairs with nothing: a push (`SDG` of a message to us).
    fn push(&mut self, cmd: &Command<'_>, payload: Option<&Payload<'_>>) {
        if cmd.verb != "SDG" {
            return;
        }
        let Some(layered) = payload.and_then(|p| msnp::payload::Layered::parse(&p.body).ok())
        else {
            return;
        };
        let from = layered.from().unwrap_or_default().to_owned();
        let text = String::from_utf8_lossy(&layered.body).into_owned();
        self.event(json!({"event": "received", "from": from, "text": text}));
    }

    fn history(&mut self, conv: &str, state: Option<&str>, id: Option<Value>) {
        let state = state.map_or(String::new(), |s| {
            format!("<messagessyncstate>{s}</messagessyncstate>")
        });
        let body = format!(
            "<messagesbyconversation><id>{conv}</id><start>0</start>{state}<pagesize>{PAGE_SIZE}</pagesize></messagesbyconversation>"
        );
        self.request(
            "GET",
            "MSGR\\MESSAGESBYCONVERSATION",
            Some(&body),
            id,
            Step::History(conv.to_owned()),
        );
    }

    /// Sends `verb` with the next TrID and, with a body, the payload `[Registration] CRLF body`.
    fn request(
        &mut self,
        verb: &str,
        target: &str,
        body: Option<&str>,
        id: Option<Value>,
        step: Step,
    ) {
        if self.mutant != Some(Mutant::MsnpTridRepeats) || self.trid == 0 {
            self.trid += 1;
        }
        let mut cmd = Command::new(verb.to_owned(), Some(self.trid), Some(target));
        if let Some(body) = body {
            let mut payload = Payload::default();
            if let Some(reg) = &self.registration
                && self.mutant != Some(Mutant::MsnpNoRegistration)
            {
                payload.headers.push("Registration", reg.clone());
            }
            payload.body = body.as_bytes().to_vec().into();
            cmd = cmd.with_payload(payload.to_bytes());
        }
        self.waiting.push(Waiting {
            trid: self.trid,
            id,
            step,
        });
        self.out.push_back(Output::Send(cmd.to_bytes()));
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

/// The seconds of a `PNG` reply's `<wait>NN</wait>` body (§3.4), as `msgr::Wait` reads it.
fn ping_wait(body: &str) -> Option<u64> {
    msgr::Wait::parse(body).ok().map(|w| u64::from(w.seconds))
}

impl Peer for Client {
    type Msg<'a> = Command<'a>;
    fn parse(buf: &[u8]) -> imspec_codec::Result<(Command<'_>, usize)> {
        msnp::parse(buf)
    }
    fn poll(&mut self) -> Option<Output> {
        Self::poll(self)
    }
    fn next_timeout(&self) -> Option<Instant> {
        Self::next_timeout(self)
    }
    fn connected(&mut self, _local: &str) {
        Self::connected(self);
    }
    fn connect_failed(&mut self, why: &str) {
        Self::connect_failed(self, why);
    }
    fn closed(&mut self) {
        Self::closed(self);
    }
    fn op(&mut self, op: &Value, _now: Instant) {
        Self::op(self, op);
    }
    fn message(&mut self, msg: &Command<'_>, now: Instant) {
        Self::command(self, msg, now);
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

    fn sent(c: &mut Client) -> Command<'static> {
        let out = drain(c);
        let bytes = out
            .iter()
            .find_map(|o| match o {
                Output::Send(b) => Some(b.clone()),
                _ => None,
            })
            .expect("a command");
        match msnp::parse(&bytes) {
            Ok(Status::Complete((cmd, _))) => cmd.into_owned(),
            other => panic!("{other:?}"),
        }
    }

    fn reply(verb: &str, trid: u32, payload: &str) -> Command<'static> {
        Command::new(verb.to_owned(), Some(trid), Some("CON"))
            .with_payload(payload.as_bytes().to_vec())
    }

    #[test]
    fn msnp_client_logs_in_with_rising_trids_and_echoes_registration() {
        let now = Instant::now();
        let mut c = Client::new(None);
        c.op(&json!({"op": "login", "user": "alice", "password": "pw", "id": 1}));
        assert_eq!(drain(&mut c), [Output::Connect]);
        c.connected();
        let cnt = sent(&mut c);
        assert_eq!((cnt.verb.as_ref(), cnt.trid), ("CNT", Some(1)));
        c.command(&reply("CNT", 1, "\r\n<connect-response/>"), now);
        let ath = sent(&mut c);
        assert_eq!((ath.verb.as_ref(), ath.trid), ("ATH", Some(2)));
        let user = ath.parse_payload().unwrap().unwrap();
        assert!(user.body_text().unwrap().contains("t=pw"));
        c.command(&reply("ATH", 2, ""), now);
        let bnd = sent(&mut c);
        c.command(
            &reply("BND", bnd.trid.unwrap(), "Set-Registration: R1\r\n\r\n"),
            now,
        );
        let png = sent(&mut c);
        assert_eq!(png.verb, "PNG");
        c.command(&reply("PNG", png.trid.unwrap(), "\r\n<wait>30</wait>"), now);
        assert_eq!(c.next_timeout(), Some(now + Duration::from_secs(30)));
        c.op(&json!({"op": "history", "conv": "8:bob", "id": 2}));
        let get = sent(&mut c);
        assert!(get.trid > png.trid);
        assert_eq!(
            get.parse_payload()
                .unwrap()
                .unwrap()
                .headers
                .get("Registration"),
            Some("R1")
        );
    }
}
