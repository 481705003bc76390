//! MSRP (RFC 4975, `imspec_codec::msrp`): the actors of a SIP case that open the MSRP
//! session an INVITE negotiated (service `msrp`, or an address given as an `msrp://` URI).
//!
//! Pairing: a response is the reply to the pending request with its transaction id
//! (RFC 4975 §7.3: "the transaction identifier of the response MUST match"); every request
//! from the server (a `SEND` with a stored message, a `REPORT`) is a push, answered with
//! `status:` and `reply_to:`. MSRP has no request without side effects, so there is no
//! barrier round trip: `barrier:` and `expect_no_push:` on an MSRP actor are errors unless the
//! profile's barrier is `quiet`.
//!
//! Built requests get a fresh transaction id, `Message-ID` (SEND) and, with a body,
//! `Byte-Range: 1-N/N` unless the step writes them; `To-Path` and `From-Path` are the step's
//! and must come first. Built responses take the transaction id of the request named by
//! `reply_to:`, `To-Path` = its `From-Path` and `From-Path` = its `To-Path` (§7.2).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use imspec_codec::msrp::{self, Chunk, Flag, StartLine};
use imspec_codec::{Error, Status};

use super::{Frame, FrameKeys, Pairing, Protocol, Spec};

/// The MSRP protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Msrp;

impl Protocol for Msrp {
    fn name(&self) -> &'static str {
        "msrp"
    }

    /// MSRP actors belong to SIP cases (a send to one is read with the SIP case's keys).
    fn about(&self) -> &'static str {
        "MSRP (RFC 4975), spoken by actors of SIP cases."
    }

    fn about_service(&self, service: &str) -> &'static str {
        let _ = service;
        "MSRP relay / mailbox."
    }

    fn services(&self) -> &'static [&'static str] {
        &["msrp"]
    }

    fn scenario_protocol(&self) -> bool {
        false
    }

    fn frame_keys(&self) -> FrameKeys {
        FrameKeys::request_or_response(
            "an msrp frame needs exactly one of `method:` (request) or `status:` (response), or `raw:`",
        )
    }

    fn key_label(&self, f: &Frame) -> Option<String> {
        f.get("transaction").map(|t| format!("tid {t}"))
    }

    fn address_of(&self, address: &str) -> Option<String> {
        address_of(address)
    }

    fn parse(&self, buf: &[u8]) -> Result<Status<(Frame, usize)>, Error> {
        Ok(msrp::parse(buf)?.map(|(c, n)| (frame(&c, buf.get(..n).unwrap_or_default()), n)))
    }

    fn build(&self, spec: &Spec, counter: u64) -> Result<Vec<u8>, String> {
        let has = |name: &str| {
            spec.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let mut chunk = match (&spec.method, &spec.status) {
            (Some(m), None) => {
                let method = msrp::Method::new(m.clone())
                    .ok_or_else(|| format!("`{m}` is not an MSRP method (upper-case letters)"))?;
                let tid = transaction(counter);
                let mut c = Chunk::request(tid.clone(), method);
                for (n, v) in &spec.headers {
                    c.headers.push(n.clone(), v.clone());
                }
                if m == "SEND" && !has("Message-ID") {
                    c.headers.push("Message-ID", format!("m{tid}"));
                }
                if let Some(body) = &spec.body {
                    if !has("Byte-Range") {
                        let n = body.len();
                        c.headers.push("Byte-Range", format!("1-{n}/{n}"));
                    }
                    if !msrp::can_carry(&tid, body.as_bytes()) {
                        return Err(format!("the body contains the end-line of `{tid}`"));
                    }
                    c.body = Some(Cow::Owned(body.as_bytes().to_vec()));
                }
                c
            }
            (None, Some(s)) => {
                let status: u16 = s
                    .parse()
                    .ok()
                    .filter(|s| (100..1000).contains(s))
                    .ok_or_else(|| format!("status `{s}` is not a three-digit code"))?;
                let req = spec
                    .reply_to
                    .as_ref()
                    .ok_or("an MSRP response needs `reply_to:` (the request it answers)")?;
                let tid = req
                    .get("transaction")
                    .ok_or("`reply_to:` names a frame that is not an MSRP request")?;
                let comment = spec
                    .reason
                    .as_deref()
                    .map_or_else(|| reason(status).to_owned(), str::to_owned);
                let mut c = Chunk::response(tid.to_owned(), status, Some(Cow::Owned(comment)));
                if !has("To-Path") {
                    c.headers.push(
                        "To-Path",
                        req.get("headers.From-Path").unwrap_or_default().to_owned(),
                    );
                }
                if !has("From-Path") {
                    c.headers.push(
                        "From-Path",
                        req.get("headers.To-Path").unwrap_or_default().to_owned(),
                    );
                }
                for (n, v) in &spec.headers {
                    c.headers.push(n.clone(), v.clone());
                }
                c
            }
            _ => {
                return Err(
                    "an MSRP frame needs exactly one of `method:` (SEND, REPORT, …) or `status:`"
                        .into(),
                );
            }
        };
        chunk.flag = Flag::Complete;
        Ok(chunk.to_bytes())
    }

    fn request_key(&self, frame: &Frame) -> Option<String> {
        (frame.get("kind") == Some("request"))
            .then(|| frame.get("transaction").unwrap_or("").to_owned())
    }

    fn request_key_of(&self, bytes: &[u8]) -> Option<String> {
        match msrp::parse(bytes) {
            Ok(Status::Complete((c, n))) if n == bytes.len() && c.is_request() => {
                Some(c.transaction.into_owned())
            }
            _ => None,
        }
    }

    fn pairing(&self, frame: &Frame) -> Pairing {
        match (frame.get("kind"), frame.get("transaction")) {
            (Some("response"), Some(t)) => Pairing::Key(t.to_owned()),
            _ => Pairing::Push,
        }
    }

    fn barrier(&self) -> Spec<'static> {
        // No method and no status: `build` refuses it, and the step fails saying why.
        Spec::default()
    }

    fn fields(&self) -> &'static [&'static str] {
        &[
            "kind",
            "transaction",
            "method",
            "status",
            "reason",
            "flag",
            "message_id",
            "byte_range",
            "body",
            "size",
            "headers.",
        ]
    }
}

/// The module, for the runner's MSRP actors.
pub fn module() -> &'static dyn Protocol {
    &Msrp
}

/// `host:port` of an MSRP URI (`msrp://127.0.0.1:2855/s1;tcp`), the first of a path
/// (`a=path:` lists URIs separated by spaces); `None` when `uri` is not an MSRP URI.
pub fn address_of(uri: &str) -> Option<String> {
    let first = uri.split_ascii_whitespace().next()?;
    let rest = first
        .strip_prefix("msrp://")
        .or_else(|| first.strip_prefix("msrps://"))?;
    let authority = rest.split(['/', ';']).next()?;
    // userinfo@host:port
    let hostport = authority.rsplit('@').next()?;
    (!hostport.is_empty()).then(|| hostport.to_owned())
}

/// A transaction id unique to this process: `ident` (4–32 characters, alphanumerics first).
fn transaction(counter: u64) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    format!("im{counter}t{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

fn frame(c: &Chunk<'_>, bytes: &[u8]) -> Frame {
    let mut f = Frame::of(bytes);
    f.push("transaction", c.transaction.as_ref());
    match &c.start {
        StartLine::Request { method } => {
            f.push("kind", "request");
            f.push("method", method.as_str());
        }
        StartLine::Response { status, comment } => {
            f.push("kind", "response");
            f.push_num("status", *status);
            if let Some(r) = comment {
                f.push("reason", r.as_ref());
            }
        }
    }
    for h in c.headers.iter() {
        f.push_prefixed("headers", &h.name, h.value.as_ref(), bytes);
    }
    if let Some(Ok(id)) = c.message_id() {
        f.push("message_id", id);
    }
    if let Some(br) = c.header("Byte-Range") {
        f.push("byte_range", br);
    }
    f.push(
        "flag",
        match c.flag {
            Flag::Aborted => "#",
            Flag::Complete => "$",
            Flag::Continued => "+",
        },
    );
    let body = c.body.as_deref().unwrap_or_default();
    f.push_body(body, bytes);
    f
}

/// Comments of the MSRP status codes (RFC 4975 §10, IANA registry).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Stop Sending Message",
        415 => "Unsupported Media Type",
        481 => "Session Does Not Exist",
        501 => "Not Implemented",
        506 => "Session Already Bound",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Frame {
        match Msrp.parse(bytes) {
            Ok(Status::Complete((f, n))) => {
                assert_eq!(n, bytes.len());
                f
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn send_pairs_with_its_response_and_a_pushed_send_is_answered_in_kind() {
        let send = Spec {
            method: Some("SEND".into()),
            headers: vec![
                ("To-Path".into(), "msrp://127.0.0.1:2855/s1;tcp".into()),
                ("From-Path".into(), "msrp://127.0.0.1:9/c1;tcp".into()),
                ("Content-Type".into(), "text/plain".into()),
            ],
            body: Some("hi".into()),
            ..Spec::default()
        };
        let bytes = Msrp.build(&send, 1).unwrap();
        let req = parse(&bytes);
        assert_eq!(req.get("byte_range"), Some("1-2/2"));
        assert!(req.get("message_id").is_some());
        let key = Msrp.request_key_of(&bytes).unwrap();
        assert_eq!(Msrp.request_key(&req), Some(key.clone()));
        let ok = Spec {
            status: Some("200".into()),
            reply_to: Some(req),
            ..Spec::default()
        };
        let resp = parse(&Msrp.build(&ok, 2).unwrap());
        assert_eq!(Msrp.pairing(&resp), Pairing::Key(key));
        assert_eq!(
            resp.get("headers.To-Path"),
            Some("msrp://127.0.0.1:9/c1;tcp")
        );
        assert_eq!(
            resp.get("headers.From-Path"),
            Some("msrp://127.0.0.1:2855/s1;tcp")
        );
        assert!(Msrp.build(&Msrp.barrier(), 3).is_err());
        assert_eq!(
            address_of("msrp://127.0.0.1:2855/s1;tcp msrp://x:1/y;tcp").as_deref(),
            Some("127.0.0.1:2855")
        );
        assert_eq!(address_of("127.0.0.1:2855"), None);
    }
}
