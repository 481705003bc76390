//! SIP over TCP (RFC 3261, `imspec_codec::sip`), with RFC 3842 message-summary bodies.
//!
//! Pairing: a response is the reply to the pending request with the same `Call-ID`, `CSeq`
//! (number and method) and top `Via` branch (RFC 3261 §17.1.3 matches client transactions
//! by branch and CSeq method). Provisional responses (`1xx`) are logged and otherwise ignored:
//! a transaction's reply is its final response. Every request from the server (a relayed or
//! dumped `MESSAGE`, a `NOTIFY`) is a push, which a case answers with `status:` and
//! `reply_to:`. An `ACK` waits for no reply. Barrier: `OPTIONS`, answered by any final
//! response (an error included).
//!
//! Built requests get what a user agent computes: `Via: SIP/2.0/TCP <local address>;
//! branch=z9hG4bK…` (unique per request), `Max-Forwards: 70`, a `From` tag, `To` = the
//! Request-URI, a `Call-ID`, `CSeq: <counter> <method>` and `Content-Length` — each only when
//! the step does not write that header itself. Built responses copy `Via` (every value),
//! `From`, `To` (adding a tag), `Call-ID` and `CSeq` from the request named by `reply_to:`.

use std::borrow::Cow;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use imspec_codec::sip::{self, Message, StartLine, header, message_summary};
use imspec_codec::{Error, Status};

use super::{Frame, FrameKeys, Pairing, Protocol, Skeleton, Spec};

/// The SIP protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sip;

/// A server is read in SIP's whole grammar: every `HCOLON` form and folded lines (RFC 3261
/// §7.3.1 calls them valid and equivalent; the codec takes the white space out of the value).
/// Leading CRLFs are RFC 5626 keep-alives (a server may send them on an idle flow): skipped.
/// Bare LF line endings and a missing `Content-Length` are not SIP on a stream: refused.
const LIMITS: sip::Limits = sip::Limits {
    max_head: 16 * 1024,
    max_headers: 64,
    max_body: 1024 * 1024,
    allow_bare_lf: false,
    allow_no_space: true,
    allow_space_before_colon: true,
    allow_folding: true,
    allow_missing_length: false,
    allow_leading_crlf: true,
};

/// Header names as the fields spell them, whatever case or compact form the wire uses.
const CANONICAL: &[&str] = &[
    "Accept",
    "Allow",
    "Allow-Events",
    "Call-ID",
    "Contact",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Event",
    "Expires",
    "From",
    "Max-Forwards",
    "Min-Expires",
    "Record-Route",
    "Require",
    "Route",
    "Server",
    "SIP-ETag",
    "SIP-If-Match",
    "Subscription-State",
    "Supported",
    "To",
    "User-Agent",
    "Via",
    "Warning",
];

impl Protocol for Sip {
    fn builds_with_local(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "sip"
    }

    fn about(&self) -> &'static str {
        "SIP over TCP, with MSRP actors."
    }

    fn about_service(&self, service: &str) -> &'static str {
        let _ = service;
        "The SIP server."
    }

    fn services(&self) -> &'static [&'static str] {
        &["sip"]
    }

    fn frame_keys(&self) -> FrameKeys {
        FrameKeys::request_or_response(
            "a sip frame needs exactly one of `method:` (request) or `status:` (response), or `raw:`",
        )
    }

    /// An SDP `a=path:` gives an MSRP URI to connect to.
    fn address_protocols(&self) -> &'static [&'static dyn Protocol] {
        &[&super::msrp::Msrp]
    }

    /// OPTIONS, which a server answers whatever its state (RFC 3261 §11).
    fn liveness(&self) -> &'static [&'static str] {
        &[
            "    method: OPTIONS\n    target: sip:imspec-probe@imspec.invalid\n",
            "    method: OPTIONS\n    target: sip:imspec-probe@imspec.invalid\n",
        ]
    }

    fn key_label(&self, f: &Frame) -> Option<String> {
        f.get("cseq").map(|c| format!("CSeq {c}"))
    }

    fn skeleton(&self) -> Option<Skeleton> {
        Some(Skeleton {
            actors: "params:\n  domain: imspec.test\n\nactors:\n  alice: sip\n",
            steps: r#"  - connect: alice
  - include: register
    with: { actor: alice }
  - send: alice
    as: options
    method: OPTIONS
    target: sip:${domain}
    headers:
      From: <sip:${fresh:alice}@${domain}>
      To: <sip:${domain}>
  - expect: alice
    reply: options
    match: { status: 200, cseq.method: OPTIONS }
"#,
        })
    }

    fn parse(&self, buf: &[u8]) -> Result<Status<(Frame, usize)>, Error> {
        Ok(sip::parse_with(buf, &LIMITS)?
            .map(|(msg, n)| (frame(&msg, buf.get(..n).unwrap_or_default()), n)))
    }

    fn build(&self, spec: &Spec, counter: u64) -> Result<Vec<u8>, String> {
        if let Some(v) = spec.version.as_deref().filter(|v| *v != sip::VERSION) {
            return Err(format!(
                "version `{v}`: the codec writes SIP/2.0 only (use raw: for others)"
            ));
        }
        let has = |name: &str| spec.headers.iter().any(|(n, _)| header::same_name(n, name));
        let mut msg: Message<'_> = match (&spec.method, &spec.status) {
            (Some(m), None) => {
                let method = sip::Method::new(m.clone())
                    .ok_or_else(|| format!("`{m}` is not a method token"))?;
                let uri = spec
                    .target
                    .clone()
                    .ok_or("a SIP request needs `target:` (the Request-URI)")?;
                let mut msg = Message::request(method, uri.clone());
                let unique = unique();
                if !has("Via") {
                    let sent_by = spec.local.as_deref().unwrap_or("imspec.invalid");
                    msg.headers.push(
                        "Via",
                        format!("SIP/2.0/TCP {sent_by};branch=z9hG4bK-{unique}"),
                    );
                }
                if !has("Max-Forwards") {
                    msg.headers.push("Max-Forwards", "70");
                }
                if !has("From") {
                    msg.headers.push(
                        "From",
                        format!("\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag={unique}"),
                    );
                }
                if !has("To") {
                    msg.headers.push("To", format!("<{uri}>"));
                }
                if !has("Call-ID") {
                    msg.headers.push("Call-ID", format!("{unique}@imspec"));
                }
                if !has("CSeq") {
                    msg.headers.push("CSeq", format!("{counter} {m}"));
                }
                for (name, value) in &spec.headers {
                    // A From without a tag gets one (RFC 3261 §8.1.1.3: the UAC MUST add it).
                    if header::same_name(name, "From") && !value.contains(";tag=") {
                        msg.headers
                            .push(name.clone(), format!("{value};tag={unique}"));
                    } else {
                        msg.headers.push(name.clone(), value.clone());
                    }
                }
                msg
            }
            (None, Some(s)) => {
                let status: u16 = s
                    .parse()
                    .ok()
                    .filter(|s| (100..700).contains(s))
                    .ok_or_else(|| format!("status `{s}` is not a SIP status code"))?;
                let reason = spec.reason.clone().unwrap_or_else(|| reason(status).into());
                let mut msg = Message::response(status, reason);
                if let Some(req) = &spec.reply_to {
                    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
                        if has(name) {
                            continue;
                        }
                        for v in req.values(&format!("headers.{name}")) {
                            // A final response adds the UAS's To tag (RFC 3261 §8.2.6.2).
                            if name == "To" && status >= 200 && !v.contains(";tag=") {
                                msg.headers.push(name, format!("{v};tag={}", unique()));
                            } else {
                                msg.headers.push(name, v.to_owned());
                            }
                        }
                    }
                }
                for (name, value) in &spec.headers {
                    msg.headers.push(name.clone(), value.clone());
                }
                msg
            }
            _ => return Err("a SIP frame needs exactly one of `method:` or `status:`".into()),
        };
        let body = spec.body.as_deref().unwrap_or_default().as_bytes().to_vec();
        if has("Content-Length") {
            // Written by the step (perhaps wrong on purpose): sent as written.
            msg.body = Cow::Owned(body);
        } else {
            msg.set_body(body);
        }
        Ok(msg.to_bytes())
    }

    fn request_key(&self, frame: &Frame) -> Option<String> {
        // ACK is the one request without a response (RFC 3261 §17.1.1.3).
        (frame.get("kind") == Some("request") && frame.get("method") != Some("ACK"))
            .then(|| key(frame))
    }

    fn request_key_of(&self, bytes: &[u8]) -> Option<String> {
        match sip::parse_with(bytes, &LIMITS) {
            Ok(Status::Complete((msg, n)))
                if n == bytes.len()
                    && msg.is_request()
                    && msg.method().is_some_and(|m| m.as_str() != "ACK") =>
            {
                Some(key_of(&msg))
            }
            _ => None,
        }
    }

    fn pairing(&self, frame: &Frame) -> Pairing {
        match frame.get("status").and_then(|s| s.parse::<u16>().ok()) {
            Some(s) if s < 200 => Pairing::Ignore,
            Some(_) => Pairing::Key(key(frame)),
            None => Pairing::Push,
        }
    }

    fn barrier(&self) -> Spec<'static> {
        Spec {
            method: Some("OPTIONS".into()),
            target: Some("sip:imspec-barrier@imspec.invalid".into()),
            ..Spec::default()
        }
    }

    fn fields(&self) -> &'static [&'static str] {
        &[
            "kind",
            "method",
            "target",
            "version",
            "status",
            "reason",
            "call_id",
            "cseq",
            "cseq.method",
            "from.uri",
            "from.tag",
            "to.uri",
            "to.tag",
            "expires",
            "event",
            "subscription_state",
            "content_type",
            "body",
            "size",
            "headers.",
            "summary.",
            "contact.",
            "via.",
        ]
    }
}

/// A value unique to this process run: a per-process prefix and a sequence number.
fn unique() -> String {
    static PREFIX: LazyLock<String> = LazyLock::new(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!(
            "{:08x}",
            ((t as u64) ^ (u64::from(std::process::id()) << 20)) & 0xffff_ffff
        )
    });
    static SEQ: AtomicU64 = AtomicU64::new(1);
    format!("{}-{}", *PREFIX, SEQ.fetch_add(1, Ordering::Relaxed))
}

/// A loopback address for a connection that has no socket (the in-memory transport), so that
/// a `Contact` or `Via` can still name "this connection"; distinct per call.
pub fn synthetic_local() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "127.0.0.1:{}",
        40_000 + NEXT.fetch_add(1, Ordering::Relaxed) % 20_000
    )
}

fn key(frame: &Frame) -> String {
    format!(
        "{} | {} {} | {}",
        frame.get("call_id").unwrap_or(""),
        frame.get("cseq").unwrap_or(""),
        frame.get("cseq.method").unwrap_or(""),
        frame.get("via.branch").unwrap_or("")
    )
}

fn key_of(msg: &Message<'_>) -> String {
    let (num, method) = match msg.cseq() {
        Some(Ok(c)) => (c.number.to_string(), c.method.as_str().to_owned()),
        _ => (String::new(), String::new()),
    };
    let branch = msg
        .vias()
        .ok()
        .and_then(|v| v.first().and_then(|v| v.branch().map(str::to_owned)))
        .unwrap_or_default();
    format!(
        "{} | {num} {method} | {branch}",
        msg.call_id().unwrap_or("")
    )
}

fn canonical(name: &str) -> Cow<'_, str> {
    let long = header::full_name(name);
    CANONICAL
        .iter()
        .find(|c| c.eq_ignore_ascii_case(long))
        .map_or(Cow::Borrowed(long), |c| Cow::Borrowed(*c))
}

fn frame(msg: &Message<'_>, bytes: &[u8]) -> Frame {
    let mut f = Frame::of(bytes);
    match &msg.start {
        StartLine::Request { method, uri } => {
            f.push("kind", "request");
            f.push_in("method", method.as_str(), bytes);
            f.push_in("target", uri.as_ref(), bytes);
        }
        StartLine::Response { status, reason } => {
            f.push("kind", "response");
            f.push_num("status", *status);
            f.push_in("reason", reason.as_ref(), bytes);
        }
    }
    f.push("version", sip::VERSION);
    for h in msg.headers.iter() {
        f.push_prefixed("headers", &canonical(&h.name), h.value.as_ref(), bytes);
    }
    if let Some(id) = msg.call_id() {
        f.push_in("call_id", id, bytes);
    }
    if let Some(Ok(c)) = msg.cseq() {
        f.push("cseq", c.number.to_string());
        f.push("cseq.method", c.method.as_str());
    }
    if let Ok(vias) = msg.vias() {
        if let Some(b) = vias.first().and_then(|v| v.branch()) {
            f.push("via.branch", b);
        }
        f.push("via.count", vias.len().to_string());
    }
    for (prefix, addr) in [("from", msg.from()), ("to", msg.to())] {
        if let Some(Ok(a)) = addr {
            f.push_prefixed(prefix, "uri", a.uri.as_ref(), bytes);
            if let Some(t) = a.tag() {
                f.push_prefixed(prefix, "tag", t, bytes);
            }
        }
    }
    if let Ok(contacts) = msg.contacts() {
        for c in &contacts {
            f.push("contact.uri", c.uri.as_ref());
            if let Some(e) = c.param("expires") {
                f.push("contact.expires", e);
            }
        }
    }
    if let Some(Ok(e)) = msg.expires() {
        f.push("expires", e.to_string());
    }
    if let Some(Ok(e)) = msg.event() {
        f.push("event", e.value.as_ref());
    }
    if let Some(Ok(s)) = msg.subscription_state() {
        f.push("subscription_state", s.value.as_ref());
        if let Some(e) = s.param("expires") {
            f.push("subscription_state.expires", e);
        }
    }
    let ctype = msg.header("Content-Type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if let Some(ct) = &ctype {
        f.push("content_type", ct.clone());
    }
    if ctype.as_deref() == Some("application/simple-message-summary") {
        summary_fields(&mut f, &msg.body);
    }
    f.push_body(&msg.body, bytes);
    f
}

/// `summary.*` fields of an RFC 3842 body: `summary.waiting` (`yes`/`no`), `summary.account`,
/// `summary.Text-Message` (`new/old`), `summary.Text-Message.new`, `.old`,
/// `summary.consistent` (`false` when `no` comes with new messages), or `summary.error`.
fn summary_fields(f: &mut Frame, body: &[u8]) {
    match message_summary::parse(body) {
        Ok(s) => {
            f.push("summary.waiting", if s.waiting { "yes" } else { "no" });
            if let Some(a) = &s.account {
                f.push("summary.account", a.as_ref());
            }
            for line in &s.summaries {
                let class = line.class.as_str();
                f.push_named(
                    &format!("summary.{class}"),
                    format!("{}/{}", line.new, line.old),
                );
                f.push_named(&format!("summary.{class}.new"), line.new.to_string());
                f.push_named(&format!("summary.{class}.old"), line.old.to_string());
            }
            f.push("summary.consistent", s.is_consistent().to_string());
        }
        Err(e) => f.push(
            "summary.error",
            format!("byte {}: {}", e.offset(), e.kind()),
        ),
    }
}

/// Reason phrases of RFC 3261 §21 (and RFC 3265/3903 for 202, 412, 489).
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        412 => "Conditional Request Failed",
        415 => "Unsupported Media Type",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Frame {
        match Sip.parse(bytes) {
            Ok(Status::Complete((f, n))) => {
                assert_eq!(n, bytes.len());
                f
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn built_request_pairs_with_the_response_echoing_it() {
        let spec = Spec {
            method: Some("MESSAGE".into()),
            target: Some("sip:bob@imspec.test".into()),
            headers: vec![
                ("From".into(), "<sip:alice@imspec.test>".into()),
                ("Content-Type".into(), "text/plain".into()),
            ],
            body: Some("héllo".into()),
            local: Some("127.0.0.1:4567".into()),
            ..Spec::default()
        };
        let bytes = Sip.build(&spec, 3).unwrap();
        let req = parse(&bytes);
        assert_eq!(req.get("headers.Content-Length"), Some("6"));
        assert_eq!(req.get("cseq"), Some("3"));
        assert!(req.get("from.tag").is_some());
        assert_eq!(req.get("to.uri"), Some("sip:bob@imspec.test"));
        assert!(
            req.get("headers.Via")
                .unwrap()
                .starts_with("SIP/2.0/TCP 127.0.0.1:4567;branch=z9hG4bK")
        );
        let key = Sip.request_key(&req).unwrap();
        assert_eq!(Sip.request_key_of(&bytes), Some(key.clone()));
        let answer = Spec {
            status: Some("202".into()),
            reply_to: Some(req.clone()),
            ..Spec::default()
        };
        let resp = parse(&Sip.build(&answer, 9).unwrap());
        assert_eq!(resp.get("reason"), Some("Accepted"));
        assert!(resp.get("to.tag").is_some());
        assert_eq!(resp.get("headers.Content-Length"), Some("0"));
        assert_eq!(Sip.pairing(&resp), Pairing::Key(key));
        let trying = Spec {
            status: Some("100".into()),
            reply_to: Some(req),
            ..Spec::default()
        };
        assert_eq!(
            Sip.pairing(&parse(&Sip.build(&trying, 9).unwrap())),
            Pairing::Ignore
        );
    }

    #[test]
    fn every_hcolon_form_reads_as_the_same_fields() {
        // RFC 3261 §7.3.1: these lines are valid and equivalent; §25.1 allows SWS around `;`
        // and `=` in a Contact's parameters.
        let canonical = parse(
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5092;branch=z9hG4bKx\r\nCall-ID: abc\r\n\
              CSeq: 2 REGISTER\r\nTo: <sip:bob@x>;tag=9\r\nContact: <sip:bob@127.0.0.1:5092>;expires=300\r\n\
              Content-Length: 0\r\n\r\n",
        );
        let loose = parse(
            b"SIP/2.0 200 OK\r\nVia :SIP/2.0/TCP 127.0.0.1:5092;branch=z9hG4bKx\r\nCall-ID:abc\r\n\
              CSeq:\t2 REGISTER  \r\nTo:   <sip:bob@x>;tag=9\r\nContact: <sip:bob@127.0.0.1:5092> ; expires = 300\r\n\
              Content-Length:\r\n 0\r\n\r\n",
        );
        assert_eq!(Sip.pairing(&loose), Sip.pairing(&canonical));
        for field in [
            "call_id",
            "cseq",
            "cseq.method",
            "via.branch",
            "to.tag",
            "contact.uri",
            "contact.expires",
            "headers.CSeq",
            "headers.Content-Length",
        ] {
            assert_eq!(loose.get(field), canonical.get(field), "{field}");
        }
        assert_eq!(loose.get("contact.expires"), Some("300"));
    }

    #[test]
    fn compact_and_lower_case_names_read_as_the_long_form() {
        let f = parse(
            b"NOTIFY sip:bob@127.0.0.1:5092;transport=TCP SIP/2.0\r\nv: SIP/2.0/TCP 127.0.0.1:5080;branch=z9hG4bKx\r\n\
              f: <sip:bob@127.0.0.1>;tag=a\r\nt: <sip:bob@127.0.0.1>;tag=b\r\ni: c1\r\nCSEQ: 3 NOTIFY\r\n\
              o: message-summary\r\nsubscription-state: active;expires=299\r\n\
              c: application/simple-message-summary\r\nl: 70\r\n\r\n\
              Messages-Waiting: yes\r\nMessage-Account: sip:bob@x\r\nText-Message: 2/0\r\n",
        );
        assert_eq!(Sip.pairing(&f), Pairing::Push);
        assert_eq!(f.get("headers.Call-ID"), Some("c1"));
        assert_eq!(f.get("headers.CSeq"), Some("3 NOTIFY"));
        assert_eq!(f.get("event"), Some("message-summary"));
        assert_eq!(f.get("subscription_state.expires"), Some("299"));
        assert_eq!(f.get("summary.waiting"), Some("yes"));
        assert_eq!(f.get("summary.Text-Message"), Some("2/0"));
        assert_eq!(f.get("summary.Text-Message.new"), Some("2"));
        assert_eq!(f.get("summary.consistent"), Some("true"));
    }
}
