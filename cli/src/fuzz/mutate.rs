//! Structural mutations of one message a scenario sends, for the network fuzzer.
//!
//! A message (one `send:` step's bytes) that the protocol's codec decodes is split into
//! `Parts`: the first line's tokens, header lines in blocks (SIP-C: one block; MSNP: the
//! outer headers and the layered blocks) and the body. A mutation edits the parts (a length
//! field off by one or huge, a header dropped, duplicated or garbled, the XML body cut or
//! unbalanced, a first-line token replaced) and the parts are written back with every length
//! field that the mutation did not touch recomputed, so exactly one thing is wrong
//! (boofuzz fuzzes one primitive of a request at a time). Byte-level mutations (truncation,
//! duplication, bit flips) apply to any message, including the raw bytes of malformed-input
//! scenarios.

use std::fmt;

use imspec_codec::msnp::payload::{Layered, Payload};
use imspec_codec::{Status, leancloud, msnp, sipc};

use imspec_harness::proto::Mutable;
use imspec_harness::scenario::Protocol;

/// One change to one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// The frame's length field (SIP-C `L:`, the MSNP payload length) plus or minus one.
    LengthOff(i8),
    /// The frame's length field set to a huge number.
    LengthHuge,
    /// The layered `Content-Length` plus or minus one (else the frame's length field).
    InnerLengthOff(i8),
    /// Header line `n` (modulo the number of lines) removed.
    DropHeader(u8),
    /// Header line `n` written twice.
    DuplicateHeader(u8),
    /// Header line `n`'s value replaced.
    GarbleValue(u8, Garble),
    /// Header line `n` without its colon.
    GarbleName(u8),
    /// First-line token `n` replaced (method, target, version; verb, TrID, target, length).
    GarbleToken(u8, Garble),
    /// The body cut to this percentage of its length (lengths follow).
    TruncateBody(u8),
    /// The body's XML unbalanced: an end tag dropped (even `n`) or a start tag added (odd).
    UnbalanceXml(u8),
    /// Only this per-mille of the message's bytes sent.
    Truncate(u16),
    /// The message sent twice in one write.
    Duplicate,
    /// Bytes flipped, chosen by this seed.
    Flip(u32),
}

/// A replacement for a header value or a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Garble {
    /// Repeated to this many bytes (`9`s for numbers, `A`s otherwise).
    Long(u32),
    /// Empty.
    Empty,
    /// Control characters and an escape sequence.
    Control,
    /// Bytes that are not UTF-8.
    NotUtf8,
    /// A number past 64 bits.
    Huge,
    /// `-1`.
    Negative,
    /// `%s%n%x` format directives.
    Format,
}

impl Mutation {
    /// A mutation chosen by `r` (any 64 random bits).
    pub fn pick(r: u64) -> Self {
        let n = (r >> 8) as u8;
        let g = Garble::pick(r >> 16);
        match r % 13 {
            0 => Self::LengthOff(if n & 1 == 0 { -1 } else { 1 }),
            1 => Self::LengthHuge,
            2 => Self::InnerLengthOff(if n & 1 == 0 { -1 } else { 1 }),
            3 => Self::DropHeader(n),
            4 => Self::DuplicateHeader(n),
            5 | 6 => Self::GarbleValue(n, g),
            7 => Self::GarbleName(n),
            8 => Self::GarbleToken(n, g),
            9 => Self::TruncateBody(n % 100),
            10 => Self::UnbalanceXml(n),
            11 => Self::Truncate(((r >> 24) % 1000) as u16),
            _ if n & 1 == 0 => Self::Duplicate,
            _ => Self::Flip((r >> 32) as u32),
        }
    }

    /// Whether the mutation works on decoded parts (else on bytes).
    fn is_structural(self) -> bool {
        !matches!(self, Self::Truncate(_) | Self::Duplicate | Self::Flip(_))
    }
}

impl Garble {
    fn pick(r: u64) -> Self {
        match r % 8 {
            0 => Self::Long(40),
            1 => Self::Long(1024),
            2 => Self::Long(20_000),
            3 => Self::Empty,
            4 => Self::Control,
            5 => Self::NotUtf8,
            6 => Self::Huge,
            _ if r & 8 == 0 => Self::Negative,
            _ => Self::Format,
        }
    }

    fn bytes(self, original: &[u8]) -> Vec<u8> {
        let numeric = !original.is_empty() && original.iter().all(u8::is_ascii_digit);
        match self {
            Self::Long(n) => vec![if numeric { b'9' } else { b'A' }; n as usize],
            Self::Empty => Vec::new(),
            Self::Control => b"\x00\x07\x1b[0m\x7f".to_vec(),
            Self::NotUtf8 => b"\xff\xfe\xc0\x80".to_vec(),
            Self::Huge => b"18446744073709551616".to_vec(),
            Self::Negative => b"-1".to_vec(),
            Self::Format => b"%s%s%n%x".to_vec(),
        }
    }
}

impl fmt::Display for Garble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Long(n) => write!(f, "{n} repeated bytes"),
            Self::Empty => f.write_str("nothing"),
            Self::Control => f.write_str("control characters"),
            Self::NotUtf8 => f.write_str("bytes that are not UTF-8"),
            Self::Huge => f.write_str("a number past 64 bits"),
            Self::Negative => f.write_str("-1"),
            Self::Format => f.write_str("format directives"),
        }
    }
}

/// Applies `m` to `message` (one write of a `protocol` scenario). Returns the bytes to send
/// instead and what was done.
pub fn apply(protocol: Protocol, message: &[u8], m: Mutation) -> (Vec<u8>, String) {
    if m.is_structural()
        && let Some(mut parts) = Parts::parse(protocol, message)
        && let Some(what) = parts.mutate(m)
    {
        return (parts.to_bytes(), what);
    }
    bytes(message, m)
}

/// Applies `m` to the payload of one LeanCloud WebSocket message (protobuf bytes, or their
/// base64 when `text`). A structural mutation edits the decoded `GenericCommand` in its
/// readable form (a field dropped, a value replaced) and encodes it again, so the frame stays
/// well-formed protobuf and exactly one value is wrong; the byte-level ones (and a structural
/// one with nothing to work on) change the payload's bytes.
pub fn apply_command(payload: &[u8], text: bool, m: Mutation) -> (Vec<u8>, String) {
    let format = if text {
        leancloud::Format::Proto2Base64
    } else {
        leancloud::Format::Protobuf2
    };
    if m.is_structural()
        && let Ok(cmd) = leancloud::decode(payload, format)
        && let Some((cmd, what)) = mutate_command(&cmd, m)
    {
        let mut out = Vec::new();
        leancloud::encode(&cmd, format, &mut out);
        return (out, what);
    }
    bytes(payload, m)
}

/// A structural mutation of a command's readable form; `None` when it does not apply.
fn mutate_command(
    cmd: &leancloud::GenericCommand,
    m: Mutation,
) -> Option<(leancloud::GenericCommand, String)> {
    let mut value = serde_json::to_value(cmd).ok()?;
    let mut leaves = Vec::new();
    leaf_paths(&value, &mut String::new(), &mut leaves);
    let pick = |n: u8| leaves.get(usize::from(n) % leaves.len().max(1)).cloned();
    let what = match m {
        Mutation::DropHeader(n) => {
            let path = pick(n)?;
            let (parent, key) = path.rsplit_once('/')?;
            value.pointer_mut(parent)?.as_object_mut()?.remove(key)?;
            format!("field `{}` dropped", dotted(&path))
        }
        Mutation::GarbleValue(n, g) | Mutation::GarbleToken(n, g) => {
            let path = pick(n)?;
            let slot = value.pointer_mut(&path)?;
            *slot = match (&*slot, g) {
                (serde_json::Value::String(s), _) => {
                    let garbled = g.bytes(s.as_bytes());
                    serde_json::Value::String(String::from_utf8(garbled).ok()?)
                }
                (serde_json::Value::Number(_), Garble::Negative) => serde_json::Value::from(-1),
                (serde_json::Value::Number(_), Garble::Huge) => serde_json::Value::from(i32::MAX),
                (serde_json::Value::Number(_), Garble::Empty) => serde_json::Value::from(0),
                (serde_json::Value::Bool(b), _) => serde_json::Value::Bool(!b),
                _ => return None,
            };
            format!("field `{}` value replaced by {g}", dotted(&path))
        }
        _ => return None,
    };
    let cmd = serde_json::from_value(value).ok()?;
    Some((cmd, what))
}

/// JSON pointers of every scalar in `v` (array elements included).
fn leaf_paths(v: &serde_json::Value, at: &mut String, out: &mut Vec<String>) {
    let len = at.len();
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                leaf_paths(child, at, out);
                at.truncate(len);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push_str(&format!("/{i}"));
                leaf_paths(child, at, out);
                at.truncate(len);
            }
        }
        _ => out.push(at.clone()),
    }
}

/// A JSON pointer as the field path scenarios write (`sessionMessage.ua`).
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// The byte-level mutations (and the fallback for messages the codec does not decode).
fn bytes(message: &[u8], m: Mutation) -> (Vec<u8>, String) {
    match m {
        Mutation::Truncate(permille) => {
            let cut = message.len() * usize::from(permille) / 1000;
            (
                message[..cut].to_vec(),
                format!("only the first {cut} of {} bytes sent", message.len()),
            )
        }
        Mutation::Duplicate => ([message, message].concat(), "sent twice".into()),
        other => {
            let seed = match other {
                Mutation::Flip(s) => s,
                // A structural mutation that does not apply: flip bytes instead, reproducibly.
                _ => message.len() as u32 ^ 0x9e37_79b9,
            };
            let mut out = message.to_vec();
            let mut x = u64::from(seed) | 1;
            let mut flipped = Vec::new();
            for _ in 0..(1 + seed % 4) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if out.is_empty() {
                    break;
                }
                let at = (x % out.len() as u64) as usize;
                out[at] ^= 1 << ((x >> 32) % 8);
                flipped.push(at);
            }
            (out, format!("bits flipped at bytes {flipped:?}"))
        }
    }
}

/// A decoded message, ready to be edited and written back.
#[derive(Clone, Debug)]
struct Parts {
    kind: Mutable,
    /// First-line tokens (for MSNP the last one is the payload length).
    first: Vec<Vec<u8>>,
    /// Header lines by block; SIP-C has one block, an MSNP payload one per header block.
    blocks: Vec<Vec<Line>>,
    /// MSNP: whether the payload is empty (no blocks at all, `PNG 1 CON 0`).
    body: Vec<u8>,
    /// MSNP: the CRLF after a layered body that `Content-Length` does not count.
    trailer: Vec<u8>,
    /// The frame length written instead of the computed one.
    length: Option<Vec<u8>>,
    /// Bytes after the frame in the same write, kept as they are.
    rest: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Line {
    name: Vec<u8>,
    colon: bool,
    value: Vec<u8>,
    /// The value was set by a mutation: never recomputed.
    pinned: bool,
}

impl Parts {
    fn parse(protocol: Protocol, message: &[u8]) -> Option<Self> {
        let parts = match protocol.module().mutable() {
            Mutable::Headers => Self::sipc(message)?,
            Mutable::Command => Self::msnp(message)?,
            // SIP frames are not mutated structurally (yet): only the byte-level mutations.
            // LeanCloud commands are mutated inside their WebSocket messages
            // ([`apply_command`]), not here.
            Mutable::Bytes => return None,
        };
        // Only edit what writes back byte for byte when unchanged.
        (parts.to_bytes() == message).then_some(parts)
    }

    fn sipc(message: &[u8]) -> Option<Self> {
        let Ok(Status::Complete((msg, n))) = sipc::parse(message) else {
            return None;
        };
        let mut head = Vec::new();
        msg.encode(&mut head);
        let first_line = head.split(|&b| b == b'\r').next()?;
        Some(Self {
            kind: Mutable::Headers,
            first: first_line
                .split(|&b| b == b' ')
                .map(<[u8]>::to_vec)
                .collect(),
            blocks: vec![lines(&msg.headers)],
            body: msg.body.to_vec(),
            trailer: Vec::new(),
            length: None,
            rest: message[n..].to_vec(),
        })
    }

    fn msnp(message: &[u8]) -> Option<Self> {
        let Ok(Status::Complete((cmd, n))) = msnp::parse(message) else {
            return None;
        };
        let mut first: Vec<Vec<u8>> = vec![cmd.verb.as_bytes().to_vec()];
        if let Some(t) = cmd.trid {
            first.push(t.to_string().into_bytes());
        }
        if let Some(t) = &cmd.target {
            first.push(t.as_bytes().to_vec());
        }
        first.push(Vec::new());
        let (blocks, body, trailer) = if cmd.payload.is_empty() {
            (Vec::new(), Vec::new(), Vec::new())
        } else if let Ok(l) = Layered::parse(&cmd.payload) {
            let mut blocks: Vec<Vec<Line>> = l.outer.iter().map(lines).collect();
            for b in [&l.routing, &l.reliability, &l.service] {
                if !b.is_empty() {
                    blocks.push(lines(b));
                }
            }
            let trailer = if l.trailing_crlf {
                b"\r\n".to_vec()
            } else {
                Vec::new()
            };
            (blocks, l.body.to_vec(), trailer)
        } else {
            let p = Payload::parse(&cmd.payload).ok()?;
            (vec![lines(&p.headers)], p.body.to_vec(), Vec::new())
        };
        Some(Self {
            kind: Mutable::Command,
            first,
            blocks,
            body,
            trailer,
            length: None,
            rest: message[n..].to_vec(),
        })
    }

    /// Applies a structural mutation; `None` if it has nothing to work on.
    fn mutate(&mut self, m: Mutation) -> Option<String> {
        let count: usize = self.blocks.iter().map(Vec::len).sum();
        let locate = |n: u8| -> Option<(usize, usize)> {
            let mut i = usize::from(n) % count.max(1);
            for (b, block) in self.blocks.iter().enumerate() {
                if i < block.len() {
                    return Some((b, i));
                }
                i -= block.len();
            }
            None
        };
        let line = |p: &Self, (b, i): (usize, usize)| {
            String::from_utf8_lossy(&p.blocks[b][i].text()).into_owned()
        };
        Some(match m {
            Mutation::LengthOff(d) => {
                let len = self.payload_len() as i64 + i64::from(d);
                let len = if len < 0 { 1 } else { len };
                self.length = Some(len.to_string().into_bytes());
                format!("frame length {len} for {} bytes", self.payload_len())
            }
            Mutation::LengthHuge => {
                self.length = Some(b"99999999999999999999".to_vec());
                "frame length 99999999999999999999".into()
            }
            Mutation::InnerLengthOff(d) => {
                let Some((b, i)) = self.content_length() else {
                    return self.mutate(Mutation::LengthOff(d));
                };
                let len = (self.body.len() as i64 + i64::from(d)).max(0);
                let l = &mut self.blocks[b][i];
                l.value = len.to_string().into_bytes();
                l.pinned = true;
                format!("Content-Length {len} for a {}-byte body", self.body.len())
            }
            Mutation::DropHeader(n) => {
                let at = locate(n)?;
                let text = line(self, at);
                self.blocks[at.0].remove(at.1);
                format!("header `{text}` dropped")
            }
            Mutation::DuplicateHeader(n) => {
                let at = locate(n)?;
                let copy = self.blocks[at.0][at.1].clone();
                self.blocks[at.0].insert(at.1, copy);
                format!("header `{}` sent twice", line(self, at))
            }
            Mutation::GarbleValue(n, g) => {
                let at = locate(n)?;
                let l = &mut self.blocks[at.0][at.1];
                l.value = g.bytes(&l.value);
                l.pinned = true;
                format!(
                    "header `{}` value replaced by {g}",
                    String::from_utf8_lossy(&l.name)
                )
            }
            Mutation::GarbleName(n) => {
                let at = locate(n)?;
                self.blocks[at.0][at.1].colon = false;
                format!("header `{}` without its colon", line(self, at))
            }
            Mutation::GarbleToken(n, g) => {
                // The MSNP length token is the frame length.
                let tokens = self.first.len() - usize::from(self.kind == Mutable::Command);
                let k = usize::from(n) % tokens.max(1);
                let old = String::from_utf8_lossy(self.first.get(k)?).into_owned();
                self.first[k] = g.bytes(old.as_bytes());
                format!("first-line token {} (`{old}`) replaced by {g}", k + 1)
            }
            Mutation::TruncateBody(percent) => {
                if self.body.is_empty() {
                    return None;
                }
                let was = self.body.len();
                self.body.truncate(was * usize::from(percent) / 100);
                format!("body cut to {} of {was} bytes", self.body.len())
            }
            Mutation::UnbalanceXml(n) => {
                let text = self.body.clone();
                if n % 2 == 0 {
                    let start = find(&text, b"</")?;
                    let end = start + find(&text[start..], b">")? + 1;
                    self.body.drain(start..end);
                    format!(
                        "end tag `{}` dropped from the body",
                        String::from_utf8_lossy(&text[start..end])
                    )
                } else {
                    let at = find(&text, b">")? + 1;
                    self.body.splice(at..at, b"<imspec-fuzz>".iter().copied());
                    "unclosed `<imspec-fuzz>` added to the body".into()
                }
            }
            Mutation::Truncate(_) | Mutation::Duplicate | Mutation::Flip(_) => return None,
        })
    }

    /// The position of the layered `Content-Length` line.
    fn content_length(&self) -> Option<(usize, usize)> {
        if self.kind != Mutable::Command {
            return None;
        }
        let b = self.blocks.len().checked_sub(1)?;
        let i = self.blocks[b]
            .iter()
            .position(|l| l.name.eq_ignore_ascii_case(b"Content-Length"))?;
        Some((b, i))
    }

    /// What the frame length counts: the SIP-C body, or the whole MSNP payload.
    fn payload_len(&self) -> usize {
        match self.kind {
            // LeanCloud never gets here: `parse` makes no parts of it.
            Mutable::Headers | Mutable::Bytes => self.body.len(),
            Mutable::Command => self.payload().len(),
        }
    }

    fn payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let inner = self.content_length();
        for (b, block) in self.blocks.iter().enumerate() {
            for (i, l) in block.iter().enumerate() {
                if inner == Some((b, i)) && !l.pinned {
                    let mut l = l.clone();
                    l.value = self.body.len().to_string().into_bytes();
                    out.extend_from_slice(&l.text());
                } else {
                    out.extend_from_slice(&l.text());
                }
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.trailer);
        out
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.kind {
            Mutable::Headers | Mutable::Bytes => {
                out.extend_from_slice(&self.first.join(&b' '));
                out.extend_from_slice(b"\r\n");
                for l in self.blocks.iter().flatten() {
                    if l.name == b"L" && !l.pinned {
                        let len = self
                            .length
                            .clone()
                            .unwrap_or_else(|| self.body.len().to_string().into_bytes());
                        out.extend_from_slice(b"L: ");
                        out.extend_from_slice(&len);
                    } else {
                        out.extend_from_slice(&l.text());
                    }
                    out.extend_from_slice(b"\r\n");
                }
                // A length mutation on a message without `L:` adds one.
                if let Some(len) = &self.length
                    && !self.blocks.iter().flatten().any(|l| l.name == b"L")
                {
                    out.extend_from_slice(b"L: ");
                    out.extend_from_slice(len);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&self.body);
            }
            Mutable::Command => {
                let payload = self.payload();
                let mut first = self.first.clone();
                if let Some(last) = first.last_mut() {
                    *last = self
                        .length
                        .clone()
                        .unwrap_or_else(|| payload.len().to_string().into_bytes());
                }
                out.extend_from_slice(&first.join(&b' '));
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&payload);
            }
        }
        out.extend_from_slice(&self.rest);
        out
    }
}

impl Line {
    fn text(&self) -> Vec<u8> {
        let mut t = self.name.clone();
        if self.colon {
            t.extend_from_slice(b": ");
        } else {
            t.push(b' ');
        }
        t.extend_from_slice(&self.value);
        t
    }
}

fn lines(h: &imspec_codec::Headers<'_>) -> Vec<Line> {
    h.iter()
        .map(|h| Line {
            name: h.name.as_bytes().to_vec(),
            colon: true,
            value: h.value.as_bytes().to_vec(),
            pinned: false,
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    const FETION: Protocol = Protocol::of(&imspec_harness::proto::fetion::Fetion);
    const MSNP_PROTOCOL: Protocol = Protocol::of(&imspec_harness::proto::msnp::Msnp);

    const SIPC: &[u8] =
        b"M fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 2\r\nQ: 1 M\r\nL: 9\r\n\r\n<a>hi</a>";
    const MSNP: &[u8] = b"SDG 4 MSGR 134\r\nRegistration: r\r\n\r\nRouting: 1.0\r\nTo: 8:bob\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\nContent-Type: Text/plain\r\nContent-Length: 5\r\n\r\n<b/>!";

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn parts_write_back_exactly() {
        assert_eq!(Parts::parse(FETION, SIPC).unwrap().to_bytes(), SIPC);
        assert_eq!(Parts::parse(MSNP_PROTOCOL, MSNP).unwrap().to_bytes(), MSNP);
        let png = b"PNG 1 CON 0\r\n";
        assert_eq!(Parts::parse(MSNP_PROTOCOL, png).unwrap().to_bytes(), png);
    }

    #[test]
    fn length_mutations_change_only_the_length() {
        let (out, what) = apply(FETION, SIPC, Mutation::LengthOff(1));
        assert_eq!(text(&out), text(SIPC).replace("L: 9", "L: 10"), "{what}");
        let (out, _) = apply(MSNP_PROTOCOL, MSNP, Mutation::LengthOff(-1));
        assert!(out.starts_with(b"SDG 4 MSGR 133\r\n"));
        assert_eq!(&out[16..], &MSNP[16..]);
        let (out, what) = apply(MSNP_PROTOCOL, MSNP, Mutation::InnerLengthOff(1));
        assert_eq!(
            text(&out),
            text(MSNP).replace("Content-Length: 5", "Content-Length: 6"),
            "{what}"
        );
        let (out, _) = apply(FETION, SIPC, Mutation::LengthHuge);
        assert!(text(&out).contains("L: 99999999999999999999\r\n"));
    }

    #[test]
    fn header_mutations_keep_lengths_consistent() {
        let (out, what) = apply(FETION, SIPC, Mutation::GarbleValue(1, Garble::Long(40)));
        assert!(
            text(&out).contains(&format!("I: {}\r\n", "9".repeat(40))),
            "{what}"
        );
        assert_eq!(what, "header `I` value replaced by 40 repeated bytes");
        let (out, what) = apply(FETION, SIPC, Mutation::DropHeader(3));
        assert!(!text(&out).contains("L: 9"), "{what}");
        let (out, what) = apply(MSNP_PROTOCOL, MSNP, Mutation::DuplicateHeader(1));
        assert!(
            text(&out).starts_with("SDG 4 MSGR 148\r\n"),
            "{what}: {}",
            text(&out)
        );
        assert!(text(&out).contains("Routing: 1.0\r\nRouting: 1.0\r\n"));
        let (out, _) = apply(FETION, SIPC, Mutation::GarbleName(0));
        assert!(text(&out).contains("\r\nF 1\r\n"));
    }

    #[test]
    fn body_mutations_recompute_lengths() {
        let (out, what) = apply(FETION, SIPC, Mutation::UnbalanceXml(0));
        assert!(
            text(&out).ends_with("L: 5\r\n\r\n<a>hi"),
            "{what}: {}",
            text(&out)
        );
        let (out, what) = apply(MSNP_PROTOCOL, MSNP, Mutation::TruncateBody(50));
        assert!(
            text(&out).ends_with("Content-Length: 2\r\n\r\n<b"),
            "{what}: {}",
            text(&out)
        );
        assert!(
            text(&out).starts_with("SDG 4 MSGR 131\r\n"),
            "{}",
            text(&out)
        );
    }

    fn open_command(text: bool) -> Vec<u8> {
        let cmd: leancloud::GenericCommand = serde_json::from_str(
            r#"{"cmd":"session","op":"open","i":1,"peerId":"alice","sessionMessage":{"ua":"js/4.3.1"}}"#,
        )
        .unwrap();
        let format = if text {
            leancloud::Format::Proto2Base64
        } else {
            leancloud::Format::Protobuf2
        };
        let mut out = Vec::new();
        leancloud::encode(&cmd, format, &mut out);
        out
    }

    #[test]
    fn command_mutations_change_one_field_and_stay_protobuf() {
        for text in [false, true] {
            let format = if text {
                leancloud::Format::Proto2Base64
            } else {
                leancloud::Format::Protobuf2
            };
            let payload = open_command(text);
            let mut dropped = 0;
            let mut long_peer = false;
            for n in 0..5u8 {
                // A field the readable form cannot lose (`cmd`) falls back to bit flips.
                let (out, what) = apply_command(&payload, text, Mutation::DropHeader(n));
                if what.starts_with("field `") {
                    let cmd = leancloud::decode(&out, format).unwrap();
                    dropped += usize::from(cmd.peer_id.is_none());
                } else {
                    assert!(what.starts_with("bits flipped"), "{what}");
                }
                let (out, what) =
                    apply_command(&payload, text, Mutation::GarbleValue(n, Garble::Long(40)));
                if what == "field `peerId` value replaced by 40 repeated bytes" {
                    let cmd = leancloud::decode(&out, format).unwrap();
                    long_peer = cmd.peer_id.as_deref() == Some(&"A".repeat(40)[..]);
                }
            }
            assert_eq!(dropped, 1);
            assert!(long_peer);
            let (out, what) = apply_command(&payload, text, Mutation::Flip(7));
            assert_ne!(out, payload);
            assert!(what.starts_with("bits flipped"), "{what}");
        }
    }

    #[test]
    fn byte_mutations_and_fallbacks() {
        let (out, _) = apply(FETION, SIPC, Mutation::Truncate(500));
        assert_eq!(out, &SIPC[..SIPC.len() / 2]);
        let (out, _) = apply(FETION, SIPC, Mutation::Duplicate);
        assert_eq!(out, [SIPC, SIPC].concat());
        let garbage = b"\x00\x01 not SIP-C\r\n\r\n";
        let (out, what) = apply(FETION, garbage, Mutation::DropHeader(0));
        assert_ne!(out, garbage);
        assert!(what.starts_with("bits flipped"), "{what}");
        // Every mutation is deterministic.
        for r in 0..200u64 {
            let m = Mutation::pick(r.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            assert_eq!(apply(MSNP_PROTOCOL, MSNP, m), apply(MSNP_PROTOCOL, MSNP, m));
        }
    }
}
