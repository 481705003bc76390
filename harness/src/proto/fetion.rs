//! Fetion SIP-C (`imspec_codec::sipc`).
//!
//! Pairing: a response is the reply to the pending request whose `I` and `Q` it carries
//! (docs/protocols/fetion.md §9.1); every request from the server (`I`, `BN`, relayed `M`) is
//! a push. Barrier: `S` with `N: KeepAlive`, answered by any response.

use std::borrow::Cow;

use imspec_codec::sipc::{self, Message, StartLine, Version};
use imspec_codec::{Error, Status};

use super::{Frame, FrameKeys, Mutable, Pairing, Protocol, Skeleton, Spec};

/// How a server's messages are read: SIP-C is SIP's line grammar, where `Name:value` and
/// `Name: value` are the same header (RFC 3261 §7.3.1; seed 004's captures have both); the
/// codec keeps the white space out of the value. Bare-LF line ends are not SIP-C: refused.
const LIMITS: sipc::Limits = sipc::Limits {
    max_head: 16 * 1024,
    max_headers: 64,
    max_body: 1024 * 1024,
    allow_bare_lf: false,
    allow_no_space: true,
    allow_glued_auth_scheme: false,
    allow_loose_auth_params: false,
};

/// The Fetion SIP-C protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fetion;

impl Protocol for Fetion {
    fn name(&self) -> &'static str {
        "fetion"
    }

    fn about(&self) -> &'static str {
        "Fetion SIP-C over TCP."
    }

    fn about_service(&self, service: &str) -> &'static str {
        match service {
            "fetion-chat" => "The Fetion chat server.",
            _ => "The Fetion main server.",
        }
    }

    fn services(&self) -> &'static [&'static str] {
        &["fetion", "fetion-chat"]
    }

    fn frame_keys(&self) -> FrameKeys {
        FrameKeys::request_or_response(
            "a fetion frame needs exactly one of `method:` (request) or `status:` (response), or `raw:`",
        )
    }

    /// Fetion ids are numbers (sids like 815389316).
    fn fresh_id(&self, _role: &str, hash: u64) -> String {
        format!("8{:08}", hash % 100_000_000)
    }

    fn barrier_claim(&self) -> Option<&'static str> {
        Some("fetion.keepalive")
    }

    fn mutable(&self) -> Mutable {
        Mutable::Headers
    }

    fn liveness(&self) -> &'static [&'static str] {
        &[
            "    method: R\n    headers: { F: \"${fresh:{actor}}\" }\n",
            "    method: S\n    headers: { F: \"${fresh:{actor}}\", N: KeepAlive }\n",
        ]
    }

    fn key_label(&self, f: &Frame) -> Option<String> {
        match (f.get("headers.I"), f.get("headers.Q")) {
            (Some(i), Some(q)) => Some(format!("I {i} · Q {q}")),
            (Some(i), None) => Some(format!("I {i}")),
            _ => None,
        }
    }

    fn skeleton(&self) -> Option<Skeleton> {
        Some(Skeleton {
            actors: "actors:\n  alice: fetion\n",
            steps: r#"  - connect: alice
  - include: login
    with: { actor: alice }
  - send: alice
    as: keepalive
    method: S
    headers: { F: "${fresh:alice}", N: KeepAlive }
  - expect: alice
    reply: keepalive
    match: { status: 200 }
"#,
        })
    }

    fn parse(&self, buf: &[u8]) -> Result<Status<(Frame, usize)>, Error> {
        Ok(sipc::parse_with(buf, &LIMITS)?
            .map(|(msg, n)| (frame(&msg, buf.get(..n).unwrap_or_default()), n)))
    }

    fn build(&self, spec: &Spec, counter: u64) -> Result<Vec<u8>, String> {
        let version = match spec.version.as_deref() {
            None | Some("SIP-C/2.0") => Version::V2,
            Some("SIP-C/4.0") => Version::V4,
            Some(v) => {
                return Err(format!(
                    "version `{v}`: the codec writes SIP-C/2.0 or SIP-C/4.0 (use raw: for others)"
                ));
            }
        };
        let mut msg: Message<'_> = match (&spec.method, &spec.status) {
            (Some(m), None) => {
                let method = sipc::Method::new(m.clone())
                    .ok_or_else(|| format!("`{m}` is not a method token"))?;
                Message::request(
                    method,
                    spec.target
                        .clone()
                        .unwrap_or_else(|| "fetion.com.cn".into()),
                    version,
                )
            }
            (None, Some(s)) => {
                let status: u16 = s
                    .parse()
                    .ok()
                    .filter(|s| (100..1000).contains(s))
                    .ok_or_else(|| format!("status `{s}` is not a three-digit code"))?;
                let reason = spec.reason.clone().unwrap_or_else(|| reason(status).into());
                Message::response(version, status, reason)
            }
            _ => return Err("a Fetion frame needs exactly one of `method:` or `status:`".into()),
        };
        for (name, value) in &spec.headers {
            msg.headers.push(name.clone(), value.clone());
        }
        if let Some(req) = &spec.reply_to {
            for name in ["F", "I", "Q"] {
                if msg.headers.get(name).is_none()
                    && let Some(v) = req.get(&format!("headers.{name}"))
                {
                    msg.headers.push(name, v.to_owned());
                }
            }
        }
        if let Some(m) = &spec.method {
            if msg.headers.get("I").is_none() {
                msg.headers.push("I", counter.to_string());
            }
            if msg.headers.get("Q").is_none() {
                msg.headers.push("Q", format!("1 {m}"));
            }
        }
        if let Some(body) = &spec.body {
            msg.body = Cow::Owned(body.as_bytes().to_vec());
            if msg.headers.get("L").is_none() && !body.is_empty() {
                msg.headers.push("L", body.len().to_string());
            }
        }
        Ok(msg.to_bytes())
    }

    fn request_key(&self, frame: &Frame) -> Option<String> {
        (frame.get("kind") == Some("request")).then(|| key(frame))
    }

    fn request_key_of(&self, bytes: &[u8]) -> Option<String> {
        // Read in place: only two headers are looked at.
        match sipc::parse_ref_with(bytes, &LIMITS) {
            Ok(Status::Complete((msg, n))) if n == bytes.len() && msg.is_request() => {
                // As `key`: the first header spelled exactly `I` / `Q`, as the frame names them.
                let first = |name: &str| {
                    msg.headers()
                        .find(|&(n, _)| n == name)
                        .map_or("", |(_, value)| value)
                };
                Some(format!("I: {} | Q: {}", first("I"), first("Q")))
            }
            _ => None,
        }
    }

    fn pairing(&self, frame: &Frame) -> Pairing {
        if frame.get("kind") == Some("response") {
            Pairing::Key(key(frame))
        } else {
            Pairing::Push
        }
    }

    fn barrier(&self) -> Spec<'static> {
        Spec {
            method: Some("S".into()),
            headers: vec![("N".into(), "KeepAlive".into())],
            ..Spec::default()
        }
    }

    fn fields(&self) -> &'static [&'static str] {
        &[
            "kind", "method", "target", "version", "status", "reason", "body", "size", "headers.",
        ]
    }
}

fn key(frame: &Frame) -> String {
    format!(
        "I: {} | Q: {}",
        frame.get("headers.I").unwrap_or(""),
        frame.get("headers.Q").unwrap_or("")
    )
}

fn frame(msg: &Message<'_>, bytes: &[u8]) -> Frame {
    let mut f = Frame::of(bytes);
    match &msg.start {
        StartLine::Request {
            method,
            target,
            version,
        } => {
            f.push("kind", "request");
            f.push_in("method", method.as_str(), bytes);
            f.push_in("target", target.as_ref(), bytes);
            f.push_in("version", version.as_str(), bytes);
        }
        StartLine::Response {
            version,
            status,
            reason,
        } => {
            f.push("kind", "response");
            f.push_num("status", *status);
            f.push_in("reason", reason.as_ref(), bytes);
            f.push_in("version", version.as_str(), bytes);
        }
    }
    for h in msg.headers.iter() {
        f.push_prefixed("headers", &h.name, h.value.as_ref(), bytes);
    }
    f.push_body(&msg.body, bytes);
    f
}

/// Standard reason phrases (docs/protocols/fetion.md §5).
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        200 => "OK",
        280 => "Send SMS OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        486 => "Busy Here",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(bytes: &[u8]) -> Frame {
        match Fetion.parse(bytes) {
            Ok(Status::Complete((mut f, n))) => {
                assert_eq!(n, bytes.len());
                f.retain_fields(|name| name != "size");
                f
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fetion_no_space_after_the_colon_reads_as_the_same_fields() {
        let canonical = fields(b"SIP-C/2.0 200 OK\r\nI: 3\r\nQ: 2 S\r\nL: 2\r\n\r\nok");
        let loose = fields(b"SIP-C/2.0 200 OK\r\nI:3\r\nQ:   2 S \r\nL:\t2\r\n\r\nok");
        assert!(loose.fields().eq(canonical.fields()));
        assert_eq!(Fetion.pairing(&loose), Fetion.pairing(&canonical));
    }
}
