//! MSNP 21–24 (`imspec_codec::msnp`).
//!
//! Pairing: a frame is the reply to the pending request with its TrID when its verb is the
//! request's verb or a three-digit error code (docs/protocols/msnp.md §7.1); `NFY`, server
//! `SDG` and anything else unsolicited are pushes. Barrier: `PNG` → `PNG`.

use imspec_codec::msnp::{self, payload};
use imspec_codec::{Error, Headers, Status};

use super::{Deferred, Frame, FrameKeys, Mutable, Pairing, Protocol, Skeleton, Spec};

/// The MSNP protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Msnp;

impl Protocol for Msnp {
    fn name(&self) -> &'static str {
        "msnp"
    }

    /// `msnp-gateway`: MSNP over the HTTP gateway (`crate::transport::gateway`).
    fn about(&self) -> &'static str {
        "MSNP 21–24 over TCP (and the HTTP gateway)."
    }

    fn about_service(&self, service: &str) -> &'static str {
        match service {
            "msnp-gateway" => "The MSNP HTTP gateway (`http:` steps).",
            _ => "MSNP over TCP.",
        }
    }

    fn services(&self) -> &'static [&'static str] {
        &["msnp", "msnp-gateway"]
    }

    fn frame_keys(&self) -> FrameKeys {
        FrameKeys {
            foreign: &[
                "method", "status", "reason", "version", "reply_to", "command",
            ],
            one_of: &["verb"],
            missing: "an MSNP frame needs `verb:` (or `raw:`)",
        }
    }

    fn mutable(&self) -> Mutable {
        Mutable::Command
    }

    fn liveness(&self) -> &'static [&'static str] {
        &[
            "    verb: CNT\n    target: CON\n    body: <connect><ver>2</ver></connect>\n",
            "    verb: PNG\n    target: CON\n",
        ]
    }

    fn key_label(&self, f: &Frame) -> Option<String> {
        f.get("trid").map(|t| format!("TrID {t}"))
    }

    fn skeleton(&self) -> Option<Skeleton> {
        Some(Skeleton {
            actors: "actors:\n  alice: msnp\n",
            steps: r#"  - connect: alice
  - include: login
    with: { actor: alice }
  - send: alice
    as: ping
    verb: PNG
    trid: "31"
    target: CON
  - expect: alice
    reply: ping
    match: { verb: PNG, trid: "31", target: CON }
"#,
        })
    }

    fn parse(&self, buf: &[u8]) -> Result<Status<(Frame, usize)>, Error> {
        Ok(msnp::parse(buf)?.map(|(cmd, n)| (frame(&cmd, buf.get(..n).unwrap_or_default()), n)))
    }

    fn build(&self, spec: &Spec, counter: u64) -> Result<Vec<u8>, String> {
        let verb = spec.verb.as_deref().ok_or("an MSNP frame needs `verb:`")?;
        let mut digits = itoa::Buffer::new();
        let trid = spec
            .trid
            .as_deref()
            .unwrap_or_else(|| digits.format(counter));
        let target = spec.target.as_deref().unwrap_or("CON");
        let mut payload = Vec::new();
        let body = spec.body.as_deref().unwrap_or("");
        if !spec.headers.is_empty() || !spec.blocks.is_empty() || !body.is_empty() {
            write_block(&mut payload, &spec.headers);
            for (i, block) in spec.blocks.iter().enumerate() {
                let last = i + 1 == spec.blocks.len();
                if last
                    && !block
                        .iter()
                        .any(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
                {
                    let mut b = block.clone();
                    b.push(("Content-Length".into(), body.len().to_string()));
                    write_block(&mut payload, &b);
                } else {
                    write_block(&mut payload, block);
                }
            }
            payload.extend_from_slice(body.as_bytes());
        }
        let mut digits = itoa::Buffer::new();
        let length = spec
            .length
            .as_deref()
            .unwrap_or_else(|| digits.format(payload.len()));
        let tokens = [verb, trid, target, length];
        let line: usize = tokens.iter().map(|t| t.len() + 1).sum();
        let mut out = Vec::with_capacity(line + 1 + payload.len());
        for (i, t) in tokens.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(t.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&payload);
        Ok(out)
    }

    fn request_key(&self, frame: &Frame) -> Option<String> {
        Some([frame.get("trid")?, frame.get("verb")?].join(" "))
    }

    fn request_key_of(&self, bytes: &[u8]) -> Option<String> {
        match msnp::parse(bytes) {
            Ok(Status::Complete((cmd, n))) if n == bytes.len() => {
                Some([itoa::Buffer::new().format(cmd.trid?), &cmd.verb].join(" "))
            }
            _ => None,
        }
    }

    fn pairing(&self, frame: &Frame) -> Pairing {
        let (Some(verb), Some(trid)) = (frame.get("verb"), frame.get("trid")) else {
            return Pairing::Push;
        };
        if verb == "NFY" {
            Pairing::Push
        } else if verb.bytes().all(|b| b.is_ascii_digit()) {
            Pairing::KeyPrefix(format!("{trid} "))
        } else {
            Pairing::Key([trid, verb].join(" "))
        }
    }

    fn barrier(&self) -> Spec<'static> {
        Spec {
            verb: Some("PNG".into()),
            target: Some("CON".into()),
            ..Spec::default()
        }
    }

    fn fields(&self) -> &'static [&'static str] {
        &[
            "verb",
            "trid",
            "target",
            "length",
            "payload",
            "body",
            "content",
            "size",
            "headers.",
            "routing.",
            "reliability.",
            "messaging.",
        ]
    }
}

fn write_block(out: &mut Vec<u8>, headers: &[(String, String)]) {
    for (n, v) in headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn frame(cmd: &msnp::Command<'_>, bytes: &[u8]) -> Frame {
    let mut f = Frame::of(bytes);
    f.push_in("verb", cmd.verb.as_ref(), bytes);
    if let Some(t) = cmd.trid {
        f.push_num("trid", t);
    }
    if let Some(t) = &cmd.target {
        f.push_in("target", t.as_ref(), bytes);
    }
    f.push_num("length", cmd.payload.len());
    f.push_lossy("payload", &cmd.payload, bytes);
    f.push_num("size", bytes.len());
    if cmd.payload.is_empty() {
        f.push("body", "");
        return f;
    }
    // The payload's blocks and body are read when a step asks for one of their fields: most
    // frames pair and match by their command line alone, and reading a payload (twice: plain
    // and layered) was a third of a frame's cost and code the runner otherwise never runs.
    f.defer(Deferred {
        covers: payload_field,
        make: payload_fields,
    });
    f
}

/// Whether `name` is a field that [`payload_fields`] makes.
fn payload_field(name: &str) -> bool {
    matches!(name, "body" | "content")
        || ["headers.", "routing.", "reliability.", "messaging."]
            .iter()
            .any(|p| name.starts_with(p))
}

/// The fields of a frame's payload (`bytes`, the frame's bytes, are a command with one).
fn payload_fields(f: &mut Frame, bytes: &[u8]) {
    let Ok(Status::Complete((cmd, _))) = msnp::parse(bytes) else {
        return;
    };
    let (plain, layered) = payload::parse_both(&cmd.payload);
    if let Ok(p) = plain {
        push_headers(f, "headers", &p.headers, bytes);
        f.push_lossy("body", &p.body, bytes);
        f.set_body(&p.body, bytes);
    }
    if let Ok(l) = layered {
        push_headers(f, "routing", &l.routing, bytes);
        push_headers(f, "reliability", &l.reliability, bytes);
        push_headers(f, "messaging", &l.service, bytes);
        f.push_lossy("content", &l.body, bytes);
    }
}

fn push_headers(f: &mut Frame, prefix: &str, headers: &Headers<'_>, wire: &[u8]) {
    for h in headers.iter() {
        f.push_prefixed(prefix, &h.name, h.value.as_ref(), wire);
    }
}
