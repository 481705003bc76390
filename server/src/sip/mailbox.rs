//! The MSRP mailbox: seed 003's "approach 2" (docs/protocols/sip.md §4.5, §5, §6.3, §8.8),
//! an INVITE-established MSRP session (RFC 4975, SDP offer/answer of RFC 3264 with the MSRP
//! media of RFC 4975 §8) that hands the stored messages over.
//!
//! * `INVITE sip:offline@<domain>`; the `From` user selects the mailbox (must exist and be of
//!   our domain, else `403`). The body must be SDP with `m=message <port> TCP/MSRP *` and
//!   `a=path:` (else `488 Not Acceptable Here`). `200 OK` carries an SDP answer whose
//!   `a=path:msrp://<msrp host:port>/<session>;tcp` points at the MSRP listener. Other INVITEs
//!   → `480 Temporarily Unavailable` (no session relay).
//! * The client (the offerer, RFC 4975 §5.4) connects there and sends a `SEND` (an empty one
//!   is fine) to that path: the server answers `200` and then SENDs every stored message,
//!   oldest first, one complete chunk each (`Byte-Range: 1-N/N`, `Message-ID: imspec<id>`), as
//!   `message/cpim` (`From`, `To`, `DateTime` headers, then `Content-Type` and the original
//!   body; RFC 3862) when the offer's `a=accept-types` lists `message/cpim`, `message/*` or
//!   `*`, else the bare body with its own content type.
//! * Each message is deleted after the client's `200` for its SEND (§6.3); when the last one
//!   is gone subscribers get a NOTIFY `Messages-Waiting: no` (see `mwi.rs`). An MSRP request
//!   to an unknown session gets `481`, one other than SEND `501`, a session bound to another
//!   connection `403`.
//! * The client ends the session with `BYE` (`200 OK`; the MSRP connection is closed); an
//!   unknown dialog gets `481`.

use std::collections::HashMap;

use imspec_codec::date::format_iso8601_ms;
use imspec_codec::msrp::{self, Chunk};
use imspec_codec::sip::Message;
use imspec_codec::sip::sdp::{self, SessionDescription};

use super::{Hub, MAILBOX_USER, Offline, Req, sip_uri, split_host_port, take_frame};
use crate::{ConnId, Mutant};

pub(super) struct Session {
    pub(super) user: String,
    pub(super) call_id: String,
    pub(super) local_tag: String,
    /// The client's MSRP path (`a=path` of its offer, later its From-Path).
    pub(super) client_path: String,
    /// Our MSRP URI (`a=path` of the answer).
    pub(super) our_path: String,
    pub(super) cpim: bool,
    pub(super) msrp_conn: Option<ConnId>,
    /// Outstanding SENDs: transaction id → stored message id.
    pub(super) pending: HashMap<String, u64>,
}

/// What the client offered for its MSRP session.
#[derive(Debug, PartialEq, Eq)]
struct Offer {
    /// The `a=path:` URIs (the client's MSRP path), space-separated.
    path: String,
    /// Whether `a=accept-types` takes `message/cpim` (listed, `message/*` or `*`).
    cpim: bool,
}

impl Offer {
    /// The offer of an INVITE: an `application/sdp` body (read with the codec's leniencies:
    /// bare LF, no session-level lines) whose first `m=message <port> TCP/MSRP <fmt>` section
    /// has a non-empty `a=path` (RFC 4975 §8.1, §8.2). `TCP/TLS/MSRP` is not offered back: the
    /// mailbox listens on plain TCP only, so such an offer finds nothing (the caller answers
    /// 488).
    fn of(msg: &Message<'_>) -> Option<Self> {
        let ct = msg.content_type()?.ok()?;
        if !ct.kind.eq_ignore_ascii_case("application") || !ct.subtype.eq_ignore_ascii_case("sdp") {
            return None;
        }
        let sdp = msg.sdp(&sdp::Limits::lenient()).ok()?;
        let media = sdp
            .media()
            .find(|m| m.media == "message" && m.is_msrp_tcp())?;
        let path = media.path().filter(|p| !p.is_empty())?.join(" ");
        Some(Self {
            path,
            cpim: media.accepts("message", "cpim"),
        })
    }
}

/// The SDP answer (RFC 3264 §6, RFC 4975 §8): one `m=message` section whose `a=path` is
/// `path` (`msrp://host:port/id;tcp` on the MSRP listener `host:port`).
fn answer(session: &str, host: &str, port: &str, path: &str) -> Vec<u8> {
    let ip = if host.contains(':') { "IP6" } else { "IP4" };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    SessionDescription::new()
        .with('v', "0")
        .with('o', format!("imspec {session} 1 IN {ip} {host}"))
        .with('s', "-")
        .with('c', format!("IN {ip} {host}"))
        .with('t', "0 0")
        .with('m', format!("message {port} TCP/MSRP *"))
        .with('a', "accept-types:message/cpim text/plain")
        .with('a', format!("path:{path}"))
        .to_bytes()
}

impl Hub {
    pub(super) fn invite(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        let to_mailbox = req.uri.as_ref().and_then(|u| u.user.as_deref()) == Some(MAILBOX_USER);
        if !to_mailbox || req.to.tag().is_some() {
            self.reply(conn, msg, 480, "Temporarily Unavailable", None, &[], None);
            return;
        }
        let from = sip_uri(&req.from.uri);
        let owner = from
            .as_ref()
            .filter(|u| self.is_ours(u))
            .and_then(|u| u.user.as_deref())
            .filter(|u| *u != MAILBOX_USER && self.config.accounts.exists(u));
        let Some(owner) = owner else {
            self.reply(conn, msg, 403, "Forbidden", None, &[], None);
            return;
        };
        let Some(offer) = Offer::of(msg) else {
            self.reply(conn, msg, 488, "Not Acceptable Here", None, &[], None);
            return;
        };
        let sid = self.rng.hex(10);
        let local_tag = self.rng.hex(8);
        let our_path = format!("msrp://{}/{sid};tcp", self.config.msrp_address);
        let (host, port) = split_host_port(&self.config.msrp_address);
        let answer = answer(&sid, host, port, &our_path);
        self.sessions.insert(
            sid.clone(),
            Session {
                user: owner.to_owned(),
                call_id: req.call_id.to_owned(),
                local_tag: local_tag.clone(),
                client_path: offer.path,
                our_path,
                cpim: offer.cpim,
                msrp_conn: None,
                pending: HashMap::new(),
            },
        );
        let extra = [("Contact", self.contact())];
        let body = ("application/sdp", answer);
        self.reply(conn, msg, 200, "OK", Some(&local_tag), &extra, Some(body));
        let _ = now_ms;
    }

    pub(super) fn bye(&mut self, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        let tags = [req.to.tag(), req.from.tag()];
        let found = self
            .sessions
            .iter()
            .find(|(_, s)| s.call_id == req.call_id && tags.contains(&Some(s.local_tag.as_str())))
            .map(|(id, _)| id.clone());
        let Some(sid) = found else {
            self.no_transaction(conn, msg);
            return;
        };
        self.reply(conn, msg, 200, "OK", None, &[], None);
        if let Some(s) = self.sessions.remove(&sid) {
            for id in s.pending.values() {
                self.in_flight.remove(&(s.user.clone(), *id));
            }
            if let Some(c) = s.msrp_conn {
                if let Some(conn) = self.conns.get_mut(&c) {
                    conn.session = None;
                }
                self.close(c);
            }
        }
    }

    // ---- MSRP ----

    pub(super) fn on_msrp_data(&mut self, now_ms: u64, conn: ConnId) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.buf.is_empty() {
                return;
            }
            let chunk = match take_frame(&mut c.buf, |b| {
                Ok(msrp::parse(b)?.map(|(c, n)| (c.into_owned(), n)))
            }) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return,
                Err(()) => {
                    self.close(conn);
                    return;
                }
            };
            if chunk.is_request() {
                self.on_msrp_request(now_ms, conn, &chunk);
            } else {
                self.on_msrp_response(now_ms, conn, &chunk);
            }
        }
    }

    fn on_msrp_request(&mut self, now_ms: u64, conn: ConnId, chunk: &Chunk<'_>) {
        let method = chunk
            .method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        if method == "REPORT" {
            return;
        }
        let sid = chunk.to_path().and_then(Result::ok).and_then(|p| {
            p.last()
                .and_then(|u| u.session.as_deref().map(str::to_owned))
        });
        let from_path = chunk.header("From-Path").unwrap_or_default().to_owned();
        let to_path = chunk.header("To-Path").unwrap_or_default().to_owned();
        let wants_reply = !matches!(chunk.header("Failure-Report"), Some(v) if v.trim() == "no");
        let reply = |status: u16, comment: &str| {
            Chunk::response(
                chunk.transaction.to_string(),
                status,
                Some(comment.to_owned().into()),
            )
            .with_header("To-Path", from_path.clone())
            .with_header("From-Path", to_path.clone())
        };
        let known = sid.as_ref().filter(|s| self.sessions.contains_key(*s));
        let Some(sid) = known.cloned() else {
            self.send(conn, reply(481, "Session Does Not Exist").to_bytes());
            return;
        };
        if method != "SEND" {
            self.send(conn, reply(501, "Not Implemented").to_bytes());
            return;
        }
        let bound = self.sessions.get(&sid).and_then(|s| s.msrp_conn);
        if bound.is_some_and(|c| c != conn) {
            self.send(conn, reply(403, "Session Bound Elsewhere").to_bytes());
            return;
        }
        if wants_reply {
            self.send(conn, reply(200, "OK").to_bytes());
        }
        if bound.is_none() {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.session = Some(sid.clone());
            }
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.msrp_conn = Some(conn);
                if !from_path.is_empty() {
                    s.client_path = from_path;
                }
            }
            self.deliver(now_ms, &sid);
        }
    }

    /// SENDs every stored message of the session's user over its MSRP connection.
    fn deliver(&mut self, now_ms: u64, sid: &str) {
        let Some(s) = self.sessions.get(sid) else {
            return;
        };
        let (user, conn) = (s.user.clone(), s.msrp_conn);
        let Some(conn) = conn else {
            return;
        };
        let Ok(msgs) = self.store.list(&user, now_ms) else {
            return;
        };
        for m in msgs {
            if self.in_flight.contains(&(user.clone(), m.id)) {
                continue;
            }
            let Some(s) = self.sessions.get(sid) else {
                return;
            };
            let (content_type, body) = if s.cpim {
                ("message/cpim".to_owned(), cpim(&m))
            } else {
                (
                    m.content_type
                        .clone()
                        .unwrap_or_else(|| "text/plain".to_owned()),
                    m.body.clone(),
                )
            };
            let (to_path, from_path) = (s.client_path.clone(), s.our_path.clone());
            let mut tid = self.rng.hex(8);
            while !msrp::can_carry(&tid, &body) {
                tid = self.rng.hex(8);
            }
            let n = body.len();
            let chunk = Chunk::request(tid.clone(), msrp::Method::SEND)
                .with_header("To-Path", to_path)
                .with_header("From-Path", from_path)
                .with_header("Message-ID", format!("imspec{}", m.id))
                .with_header("Byte-Range", format!("1-{n}/{n}"))
                .with_header("Content-Type", content_type)
                .with_body(body);
            self.in_flight.insert((user.clone(), m.id));
            if let Some(s) = self.sessions.get_mut(sid) {
                s.pending.insert(tid, m.id);
            }
            self.send(conn, chunk.to_bytes());
        }
    }

    fn on_msrp_response(&mut self, now_ms: u64, conn: ConnId, chunk: &Chunk<'_>) {
        let sid = self.conns.get(&conn).and_then(|c| c.session.clone());
        let Some(s) = sid.and_then(|sid| self.sessions.get_mut(&sid)) else {
            return;
        };
        let Some(id) = s.pending.remove(chunk.transaction.as_ref()) else {
            return;
        };
        let user = s.user.clone();
        self.in_flight.remove(&(user.clone(), id));
        if chunk.status() == Some(200) && !self.mutant(Mutant::SipMsrpNoDrain) {
            let _ = self.store.remove(&user, id);
        }
        self.settle(now_ms, &user);
    }

    pub(super) fn unbind_session(&mut self, now_ms: u64, sid: &str) {
        let Some(s) = self.sessions.get_mut(sid) else {
            return;
        };
        s.msrp_conn = None;
        let user = s.user.clone();
        let ids: Vec<u64> = s.pending.drain().map(|(_, id)| id).collect();
        for id in ids {
            self.in_flight.remove(&(user.clone(), id));
        }
        self.settle(now_ms, &user);
    }
}

/// A stored message as `message/cpim` (RFC 3862): the sender, the recipient, the arrival
/// time, then the original content.
fn cpim(m: &Offline) -> Vec<u8> {
    let mut out = format!(
        "From: {}\r\nTo: {}\r\nDateTime: {}\r\n\r\nContent-Type: {}\r\n\r\n",
        m.from,
        m.to,
        format_iso8601_ms(m.arrival_ms),
        m.content_type.as_deref().unwrap_or("text/plain"),
    )
    .into_bytes();
    out.extend_from_slice(&m.body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(content_type: &str, body: &str) -> Option<Offer> {
        let msg = Message::request(imspec_codec::sip::Method::INVITE, "sip:offline@h")
            .with_header("Content-Type", content_type)
            .with_body(body.as_bytes().to_vec());
        Offer::of(&msg)
    }

    #[test]
    fn sip_mailbox_offer_is_found_in_its_media_section() {
        let sdp = "application/sdp";
        let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=path:msrp://wrong\r\nm=message 7654 TCP/MSRP *\r\na=accept-types:text/plain message/cpim\r\na=path:msrp://127.0.0.1:7654/jshA7weztas;tcp\r\n";
        let o = offer(sdp, body).unwrap();
        assert_eq!(o.path, "msrp://127.0.0.1:7654/jshA7weztas;tcp");
        assert!(o.cpim);
        assert_eq!(offer("text/plain", body), None, "not SDP");
        let plain = offer(
            sdp,
            "m=message 9 TCP/MSRP *\na=accept-types:text/plain\na=path:msrp://h:1/s;tcp\n",
        )
        .unwrap();
        assert!(!plain.cpim);
        let wild = offer(sdp, "m=message 9 TCP/MSRP *\r\na=accept-types:message/*\r\na=path:msrp://a:1/s;tcp msrp://b:2/t;tcp\r\n").unwrap();
        assert!(wild.cpim);
        assert_eq!(wild.path, "msrp://a:1/s;tcp msrp://b:2/t;tcp");
        assert_eq!(
            offer(
                sdp,
                "m=message 9 TCP/TLS/MSRP *\r\na=path:msrps://h:1/s;tcp\r\n"
            ),
            None
        );
        assert_eq!(offer(sdp, "m=message 9 TCP/MSRP *\r\n"), None, "no a=path");
        assert_eq!(
            offer(sdp, "m=audio 9 RTP/AVP 0\r\na=path:msrp://h:1/s;tcp\r\n"),
            None
        );
    }

    #[test]
    fn sip_mailbox_answer_names_the_listener() {
        let a = answer("42", "127.0.0.1", "2855", "msrp://127.0.0.1:2855/abc;tcp");
        let text = String::from_utf8(a.clone()).unwrap();
        assert!(text.contains("\r\nc=IN IP4 127.0.0.1\r\n"));
        assert!(text.contains("\r\nm=message 2855 TCP/MSRP *\r\n"));
        assert!(text.ends_with("a=path:msrp://127.0.0.1:2855/abc;tcp\r\n"));
        assert_eq!(
            offer("application/sdp", &text).unwrap().path,
            "msrp://127.0.0.1:2855/abc;tcp"
        );
        let strict = SessionDescription::parse(&a).unwrap();
        assert_eq!(strict.to_bytes(), a);
        let v6 = String::from_utf8(answer("1", "[::1]", "9", "p")).unwrap();
        assert!(v6.contains("IN IP6 ::1"));
    }
}
