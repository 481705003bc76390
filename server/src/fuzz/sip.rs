//! The SIP hub's part of the state-machine fuzzer (`server_sip`): SIP connections that
//! register, send MESSAGEs, SUBSCRIBE, PUBLISH and open the MSRP mailbox, and MSRP connections
//! that bind to a session the server answered and acknowledge its SENDs.
//!
//! Pairing: a SIP request is keyed by its raw `Call-ID`, `CSeq` and first `Via` (the server
//! echoes them; `ACK` gets nothing); an MSRP request by its transaction id (a `REPORT`, or a
//! `SEND` with `Failure-Report: no`, may go unanswered). Requests the server sends (relayed
//! and dumped MESSAGEs, NOTIFYs, MSRP SENDs) are pushes. Checked besides the common rules:
//! every message-summary body the server sends decodes strictly and is consistent
//! (`Messages-Waiting: no` never comes with new messages), and every MSRP SEND's `Byte-Range`
//! fits its body.
//!
//! Outbound connections the hub asks for (a Contact whose registering connection is gone) are
//! refused at once, as by a closed port: what was queued for them is dropped.

use std::collections::HashMap;

use imspec_codec::sip::message_summary;
use imspec_codec::{Status, msrp, sip};

use super::{Args, Cut, Input, Model, Role, run as run_model};
use crate::db::Open as _;
use crate::sip::{Config, Hub, Mailbox, OUTBOUND_CONN_BASE, RELAY_TIMEOUT_MS};
use crate::{ConnId, Event, Output, Service};

/// Runs the SIP hub (SIP and MSRP connections) over the program in `data`.
pub fn run(data: &[u8]) -> Result<(), String> {
    run_model::<SipModel>(data)
}

/// Users the SIP model speaks for.
const USERS: &[&str] = &["alice", "bob", "carol"];

/// The SIP hub with outbound connects refused at once.
pub struct SipHub {
    hub: Hub,
    now: u64,
}

impl SipHub {
    fn refuse_connects(&mut self) {
        while let Some((id, _)) = self.hub.poll_connect() {
            self.hub.handle(self.now, id, Event::Closed);
        }
    }
}

impl crate::Hub for SipHub {
    type Event<'a> = Event<'a>;
    fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>) {
        self.now = now_ms;
        self.hub.handle(now_ms, conn, event);
        self.refuse_connects();
    }
    fn poll_output(&mut self) -> Option<Output> {
        loop {
            let o = self.hub.poll_output()?;
            let conn = match &o {
                Output::Send { conn, .. } | Output::Close { conn } => *conn,
            };
            if conn < OUTBOUND_CONN_BASE {
                return Some(o);
            }
        }
    }
    fn poll_timeout(&self) -> Option<u64> {
        self.hub.poll_timeout()
    }
    fn handle_timeout(&mut self, now_ms: u64) {
        self.now = now_ms;
        self.hub.handle_timeout(now_ms);
        self.refuse_connects();
    }
}

/// What the model has learnt.
#[derive(Debug, Default)]
pub struct SipModel {
    conns: HashMap<ConnId, SipConn>,
    /// `(Call-ID, From, To with tag)` of subscriptions the server accepted.
    dialogs: Vec<(String, String, String)>,
    /// ETags the server issued, newest last.
    etags: Vec<String>,
    /// MSRP paths of mailbox sessions the server answered.
    paths: Vec<String>,
    /// `(Call-ID, From, To with tag)` of mailbox INVITEs the server answered.
    sessions: Vec<(String, String, String)>,
}

#[derive(Debug, Default)]
struct SipConn {
    next: u32,
    /// The last request the server sent here, to answer.
    last_request: Option<Vec<u8>>,
    /// The last MSRP SEND the server sent here: (transaction, To-Path, From-Path).
    last_send: Option<(String, String, String)>,
    /// The request sent with each CSeq here, to learn from its response.
    sent: HashMap<String, (String, String)>,
}

impl Model for SipModel {
    type Hub = SipHub;
    const SERVICES: &'static [Service] = &[Service::Sip, Service::Sip, Service::Msrp];
    const STEPS_MS: &'static [u64] = &[1, 1000, RELAY_TIMEOUT_MS + 1, 3_600_001];

    fn start() -> Result<(Self, Self::Hub), String> {
        let store = Mailbox::in_memory().map_err(|e| format!("store: {e}"))?;
        let config = Config {
            seed: 5,
            ..Config::new("127.0.0.1:5060", "127.0.0.1:2855")
        };
        Ok((
            Self::default(),
            SipHub {
                hub: Hub::new(config, store),
                now: 0,
            },
        ))
    }

    fn cut_client(buf: &[u8]) -> Cut {
        cut(buf, &Config::new("", "").limits)
    }

    fn cut_server(buf: &[u8]) -> Cut {
        cut(buf, &sip::Limits::default())
    }

    fn frame(
        &mut self,
        kind: u8,
        args: Args,
        conn: ConnId,
        service: Service,
        input: &mut Input<'_>,
    ) -> Option<Vec<u8>> {
        if service == Service::Msrp {
            return self.msrp_frame(kind, args, conn);
        }
        let c = self.conns.entry(conn).or_default();
        c.next += 1;
        let n = c.next;
        let user = Args::pick(USERS, args.who)?;
        let other = Args::pick(USERS, args.other)?;
        let host = if args.flag(2) {
            "example.com"
        } else {
            "127.0.0.1:5060"
        };
        let contact = format!(
            "<sip:{user}@127.0.0.1:{};transport=tcp>",
            5070 + u16::from(args.choice % 3)
        );
        let base = |method: &str, uri: String, from: String, to: String, call_id: String| {
            format!(
                "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5071;branch=z9hG4bK-{conn}-{n}\r\nMax-Forwards: {mf}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {n} {method}\r\n",
                mf = if args.flag(8) { 0 } else { 70 },
            )
        };
        let me = format!("<sip:{user}@127.0.0.1>;tag={conn}x{n}");
        let mut head;
        let mut body = Vec::new();
        match kind % 11 {
            0 => {
                head = base(
                    "REGISTER",
                    format!("sip:{host}"),
                    me.clone(),
                    format!("<sip:{user}@{host}>"),
                    format!("reg-{conn}"),
                );
                head.push_str(&format!(
                    "Contact: {contact}\r\nExpires: {}\r\n",
                    [0, 1, 60, 3600][usize::from(args.choice % 4)]
                ));
            }
            1 | 2 => {
                head = base(
                    "MESSAGE",
                    format!("sip:{other}@{host}"),
                    me.clone(),
                    format!("<sip:{other}@{host}>"),
                    format!("m-{conn}-{n}"),
                );
                head.push_str("Content-Type: text/plain\r\n");
                body = input.chunk(64).to_vec();
            }
            3 => {
                head = base(
                    "SUBSCRIBE",
                    format!("sip:{other}@{host}"),
                    me.clone(),
                    format!("<sip:{other}@{host}>"),
                    format!("s-{conn}-{n}"),
                );
                head.push_str(&format!(
                    "Contact: {contact}\r\nEvent: message-summary\r\nExpires: {}\r\n",
                    [0, 1, 600][usize::from(args.choice % 3)]
                ));
            }
            4 => {
                let (call_id, from, to) = pick(&self.dialogs, args.choice)?.clone();
                head = base(
                    "SUBSCRIBE",
                    format!("sip:{other}@127.0.0.1"),
                    from,
                    to,
                    call_id,
                );
                head.push_str(&format!(
                    "Contact: {contact}\r\nEvent: message-summary\r\nExpires: {}\r\n",
                    [0, 600][usize::from(args.other % 2)]
                ));
            }
            5 => {
                head = base(
                    "PUBLISH",
                    format!("sip:{other}@{host}"),
                    me.clone(),
                    format!("<sip:{other}@{host}>"),
                    format!("p-{conn}-{n}"),
                );
                head.push_str(&format!(
                    "Event: message-summary\r\nExpires: {}\r\n",
                    [0, 60, 3600][usize::from(args.choice % 3)]
                ));
                if let Some(etag) = self.etags.last().filter(|_| args.flag(1)) {
                    head.push_str(&format!("SIP-If-Match: {etag}\r\n"));
                }
                if !args.flag(4) {
                    head.push_str("Content-Type: application/simple-message-summary\r\n");
                    body = if args.flag(16) {
                        input.chunk(64).to_vec()
                    } else {
                        format!(
                            "Messages-Waiting: yes\r\nVoice-Message: {}/1\r\n",
                            args.choice
                        )
                        .into_bytes()
                    };
                }
            }
            6 => {
                head = base(
                    "INVITE",
                    format!("sip:offline@{host}"),
                    me.clone(),
                    "<sip:offline@127.0.0.1>".to_owned(),
                    format!("i-{conn}-{n}"),
                );
                head.push_str(&format!(
                    "Contact: {contact}\r\nContent-Type: application/sdp\r\n"
                ));
                let types = if args.flag(1) {
                    "text/plain"
                } else {
                    "message/cpim text/plain"
                };
                body = format!("v=0\r\nm=message 7654 TCP/MSRP *\r\na=accept-types:{types}\r\na=path:msrp://127.0.0.1:7654/c{conn};tcp\r\n").into_bytes();
            }
            7 => {
                let (call_id, from, to) = pick(&self.sessions, args.choice)?.clone();
                head = base("BYE", "sip:127.0.0.1:5060".to_owned(), from, to, call_id);
            }
            8 => {
                // The answer to the last request the server sent here.
                let req = c.last_request.clone()?;
                let Ok(Status::Complete((req, _))) = sip::parse(&req) else {
                    return None;
                };
                let status = [200u16, 202, 480, 481, 100][usize::from(args.choice % 5)];
                let mut resp = sip::Message::response(status, "X".to_owned());
                for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
                    for v in req.header_all(name) {
                        resp.headers.push(name, v.to_owned());
                    }
                }
                return Some(resp.with_body(Vec::new()).to_bytes());
            }
            9 => {
                // Odd requests: a header missing, a wrong CSeq method, an odd method.
                let method = Args::pick(
                    &["MESSAGE", "OPTIONS", "FROB", "ACK", "CANCEL", "NOTIFY"],
                    args.other,
                )?;
                let full = base(
                    method,
                    format!("sip:{user}@{host}"),
                    me.clone(),
                    format!("<sip:{user}@{host}>"),
                    format!("o-{conn}-{n}"),
                );
                let drop = usize::from(args.choice % 7);
                head = full
                    .split_inclusive("\r\n")
                    .enumerate()
                    .filter(|(i, _)| *i == 0 || *i != drop)
                    .map(|(_, l)| l)
                    .collect();
                if args.flag(1) {
                    head =
                        head.replace(&format!("CSeq: {n} {method}"), &format!("CSeq: {n} INVITE"));
                }
            }
            _ => return Some(b"\r\n\r\n".to_vec()),
        }
        c.sent
            .insert(format!("{n}"), (kind.to_string(), String::new()));
        let mut out = head.into_bytes();
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(&body);
        Some(out)
    }

    fn observe(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String> {
        if frame.starts_with(b"MSRP ") {
            return self.observe_msrp(conn, frame);
        }
        if sip::keepalive(frame) == frame.len() {
            return Ok(());
        }
        let Ok(Status::Complete((msg, _))) = sip::parse(frame) else {
            return Err("internal: observed frame does not parse".into());
        };
        if msg.is_request() {
            if msg.method().is_some_and(|m| m.as_str() == "NOTIFY") {
                let summary = message_summary::parse(&msg.body)
                    .map_err(|e| format!("NOTIFY body does not decode: {e}"))?;
                if !summary.is_consistent() {
                    return Err("NOTIFY says Messages-Waiting: no with new messages".into());
                }
            }
            self.conns.entry(conn).or_default().last_request = Some(frame.to_vec());
            return Ok(());
        }
        if !msg.status().is_some_and(|s| (200..300).contains(&s)) {
            return Ok(());
        }
        let method = msg
            .cseq()
            .and_then(Result::ok)
            .map(|c| c.method.as_str().to_owned())
            .unwrap_or_default();
        let dialog = || {
            (
                msg.call_id().unwrap_or_default().to_owned(),
                msg.header("From").unwrap_or_default().to_owned(),
                msg.header("To").unwrap_or_default().to_owned(),
            )
        };
        match method.as_str() {
            "SUBSCRIBE" => push_bounded(&mut self.dialogs, dialog()),
            "PUBLISH" => {
                if let Some(e) = msg.header("SIP-ETag") {
                    push_bounded(&mut self.etags, e.to_owned());
                }
            }
            "INVITE" => {
                let sdp = msg.body_text().unwrap_or_default();
                if let Some(path) = sdp
                    .lines()
                    .find_map(|l| l.trim_end().strip_prefix("a=path:"))
                {
                    push_bounded(&mut self.paths, path.to_owned());
                }
                push_bounded(&mut self.sessions, dialog());
            }
            _ => {}
        }
        Ok(())
    }
}

impl SipModel {
    fn msrp_frame(&mut self, kind: u8, args: Args, conn: ConnId) -> Option<Vec<u8>> {
        let c = self.conns.entry(conn).or_default();
        c.next += 1;
        let n = c.next;
        let tid = format!("t{conn}x{n}");
        let chunk = match kind % 3 {
            0 => {
                let path = pick(&self.paths, args.choice)
                    .map_or_else(|| "msrp://127.0.0.1:2855/none;tcp".to_owned(), Clone::clone);
                let mut ch = msrp::Chunk::request(tid, msrp::Method::SEND)
                    .with_header("To-Path", path)
                    .with_header("From-Path", format!("msrp://127.0.0.1:7654/c{conn};tcp"))
                    .with_header("Message-ID", format!("m{conn}x{n}"));
                if args.flag(1) {
                    ch = ch.with_header("Failure-Report", "no");
                }
                if args.flag(2) {
                    ch = ch
                        .with_header("Byte-Range", "1-2/2")
                        .with_header("Content-Type", "text/plain")
                        .with_body(&b"hi"[..]);
                }
                ch
            }
            1 => {
                let (t, to, from) = c.last_send.clone()?;
                let status = [200u16, 400, 481][usize::from(args.choice % 3)];
                msrp::Chunk::response(t, status, Some("X".into()))
                    .with_header("To-Path", from)
                    .with_header("From-Path", to)
            }
            _ => msrp::Chunk::request(tid, msrp::Method::REPORT)
                .with_header("To-Path", "msrp://127.0.0.1:2855/x;tcp")
                .with_header("From-Path", format!("msrp://127.0.0.1:7654/c{conn};tcp"))
                .with_header("Message-ID", "abcd")
                .with_header("Status", "000 200 OK"),
        };
        Some(chunk.to_bytes())
    }

    fn observe_msrp(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String> {
        let Ok(Status::Complete((chunk, _))) = msrp::parse(frame) else {
            return Err("internal: observed chunk does not parse".into());
        };
        if chunk.method().is_some_and(|m| m.as_str() == "SEND") {
            let len = chunk.body.as_ref().map_or(0, |b| b.len() as u64);
            let fits = chunk
                .byte_range()
                .and_then(Result::ok)
                .is_some_and(|r| r.fits(len));
            if !fits {
                return Err("MSRP SEND whose Byte-Range does not fit its body".into());
            }
            self.conns.entry(conn).or_default().last_send = Some((
                chunk.transaction.to_string(),
                chunk.header("To-Path").unwrap_or_default().to_owned(),
                chunk.header("From-Path").unwrap_or_default().to_owned(),
            ));
        }
        Ok(())
    }
}

/// `items[byte % len]`, for items that are not `Copy`.
fn pick<T>(items: &[T], byte: u8) -> Option<&T> {
    items.get(usize::from(byte) % items.len().max(1))
}

fn push_bounded<T>(v: &mut Vec<T>, item: T) {
    v.push(item);
    if v.len() > 8 {
        v.remove(0);
    }
}

/// One SIP message, keep-alive or MSRP chunk from `buf`.
fn cut(buf: &[u8], limits: &sip::Limits) -> Cut {
    let ka = sip::keepalive(buf);
    if ka > 0 {
        return Cut::Frame {
            len: ka,
            role: Role::Other,
            summary: "CRLF".into(),
        };
    }
    if buf.starts_with(b"MSRP") {
        return match msrp::parse(buf) {
            Ok(Status::Complete((chunk, len))) => {
                let tid = chunk.transaction.to_string();
                let role = match chunk.method().map(msrp::Method::as_str) {
                    None => Role::Reply(tid),
                    Some("REPORT") => Role::Optional(tid),
                    Some(_)
                        if chunk
                            .header("Failure-Report")
                            .is_some_and(|v| v.trim() == "no") =>
                    {
                        Role::Optional(tid)
                    }
                    Some(_) => Role::Request(tid),
                };
                Cut::Frame {
                    len,
                    role,
                    summary: imspec_codec::text::first_line(buf.get(..len).unwrap_or_default()),
                }
            }
            Ok(Status::Incomplete(_)) => Cut::Incomplete,
            Err(e) => Cut::Error(e.to_string()),
        };
    }
    match sip::parse_with(buf, limits) {
        Ok(Status::Complete((msg, len))) => {
            let key = format!(
                "{:?} {:?} {:?}",
                msg.header("Call-ID").map(str::trim),
                msg.header("CSeq").map(str::trim),
                msg.header("Via").map(str::trim),
            );
            let role = match msg.method().map(sip::Method::as_str) {
                None => Role::Reply(key),
                Some("ACK") => Role::Other,
                Some(_) => Role::Request(key),
            };
            Cut::Frame {
                len,
                role,
                summary: imspec_codec::text::first_line(buf.get(..len).unwrap_or_default()),
            }
        }
        Ok(Status::Incomplete(_)) => Cut::Incomplete,
        Err(e) => Cut::Error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::run;

    /// Programs from a fixed generator: a smoke run of the model (the fuzz target explores
    /// further); any failure message names the broken rule.
    #[test]
    fn sip_hub_fuzz_model_holds_on_generated_programs() {
        let mut state = 0x5eed_u64;
        for round in 0..120 {
            let len = 64 + round % 512;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 33) as u8
                })
                .collect();
            if let Err(e) = run(&data) {
                panic!("round {round}: {e}\ninput: {data:?}");
            }
        }
    }

    /// A hand-written program: connect two SIP connections and an MSRP one; register, store,
    /// subscribe, open the mailbox, bind MSRP, acknowledge, answer.
    #[test]
    fn sip_hub_fuzz_model_runs_a_whole_conversation() {
        let trace = super::super::run_traced::<super::SipModel>(&[
            0, 0, // connect conn 1 (sip)
            0, 1, // connect conn 2 (sip)
            2, 0, 1, 1, 0, 1, 0, 3, // conn 1: MESSAGE alice -> bob, body "abc" (chunk len 3)
            b'a', b'b', b'c', //
            2, 1, 0, 1, 0, 0, 2, // conn 2: REGISTER bob, expires 60
            2, 1, 8, 1, 0, 0, 0, // conn 2: answer the dumped MESSAGE 200
            2, 1, 3, 1, 0, 1, 2, // conn 2: SUBSCRIBE bob, expires 600
            2, 1, 6, 1, 0, 0, 0, // conn 2: INVITE the mailbox
        ])
        .unwrap();
        let text = trace.join("\n");
        // The last NOTIFY is the final one when the subscription expires after the program.
        for want in [
            "SIP/2.0 202 Accepted",
            "2: MESSAGE sip:bob@127.0.0.1:507",
            "NOTIFY",
            "SIP/2.0 200 OK",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
    }
}
