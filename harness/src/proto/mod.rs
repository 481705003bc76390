//! Protocol modules: each adapts one codec to the runner behind the [`Protocol`] trait.
//!
//! A module cuts frames from a byte buffer, builds a frame from a scenario step, gives the
//! field view the matchers read, pairs replies with requests and offers the barrier round trip.
//! Adding a protocol is adding a module here and a [`crate::scenario::Protocol`] variant.

pub mod driver;
pub mod fetion;
pub mod leancloud;
pub mod msnp;
pub mod msrp;
pub mod sip;
pub mod xml;

use imspec_codec::{Error, Status};

use crate::scenario;

/// A decoded frame in the protocol-neutral form the runner and the reports use.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Frame {
    /// The exact wire bytes.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Named fields (`method`, `headers.I`, `verb`, …), repeats in wire order.
    pub fields: Vec<(String, String)>,
    /// The body the XML checks read (Fetion: the message body; MSNP: the payload body).
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The first line, for logs.
    pub summary: String,
}

impl Frame {
    /// A frame of `bytes`, summarised by their first line, with no fields yet.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.to_vec(),
            summary: first_line(bytes),
            ..Self::default()
        }
    }

    /// The `body` (lossy UTF-8) and `size` (of the whole frame) fields, and the body bytes.
    pub fn push_body(&mut self, body: &[u8]) {
        self.push("body", String::from_utf8_lossy(body).into_owned());
        self.push("size", self.bytes.len().to_string());
        self.body = body.to_vec();
    }

    /// Every value of a field, in order.
    pub fn values<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s str> + 's {
        let name = name.to_owned();
        self.fields
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A frame that could not be decoded: only its bytes.
    pub fn opaque(bytes: Vec<u8>) -> Self {
        let summary = first_line(&bytes);
        Self {
            fields: vec![("size".into(), bytes.len().to_string())],
            summary,
            body: Vec::new(),
            bytes,
        }
    }

    fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.fields.push((name.into(), value.into()));
    }
}

/// How an incoming frame relates to pending requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pairing {
    /// The reply to the pending request with exactly this key.
    Key(String),
    /// The reply to any pending request whose key starts with this (MSNP errors).
    KeyPrefix(String),
    /// Not a reply: a push.
    Push,
    /// Logged, then dropped: neither a reply nor a push (a SIP provisional response).
    Ignore,
}

/// A frame to build, with every template already resolved.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// See [`scenario::FrameSpec`].
    pub method: Option<String>,
    /// Fetion response status.
    pub status: Option<String>,
    /// Fetion reason phrase.
    pub reason: Option<String>,
    /// Target.
    pub target: Option<String>,
    /// Fetion version token.
    pub version: Option<String>,
    /// MSNP verb.
    pub verb: Option<String>,
    /// MSNP TrID.
    pub trid: Option<String>,
    /// MSNP length override.
    pub length: Option<String>,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// MSNP layered blocks.
    pub blocks: Vec<Vec<(String, String)>>,
    /// Body text.
    pub body: Option<String>,
    /// Fetion, SIP: the received frame this response answers.
    pub reply_to: Option<Frame>,
    /// The sending connection's local `host:port` (SIP's `Via` sent-by).
    pub local: Option<String>,
    /// LeanCloud: the command in the codec's readable form (JSON), templates resolved.
    pub command: Option<serde_json::Value>,
}

/// A protocol as the runner sees it.
pub trait Protocol: Send + Sync {
    /// The module's name (`fetion`, `leancloud`, `msnp`, `msrp`, `sip`): how reports name the
    /// protocol of an actor's frames ([`by_name`]).
    fn name(&self) -> &'static str;

    /// Cuts one frame from the start of `buf`: `Complete((frame, consumed))`, `Incomplete`, or
    /// the codec's error (offset relative to `buf`).
    fn parse(&self, buf: &[u8]) -> Result<Status<(Frame, usize)>, Error>;

    /// Encodes a frame. `counter` is the connection's next transaction number (the runner
    /// increments it after each call).
    fn build(&self, spec: &Spec, counter: u64) -> Result<Vec<u8>, String>;

    /// The key under which a frame we send waits for its reply; `None` when it expects none
    /// (a Fetion response to a server request).
    fn request_key(&self, frame: &Frame) -> Option<String>;

    /// The key of a request given as its encoded bytes: [`request_key`](Self::request_key)
    /// of the one frame `bytes` holds, `None` when they are not exactly one frame. Modules
    /// override it to skip building a [`Frame`] the runner does not keep.
    fn request_key_of(&self, bytes: &[u8]) -> Option<String> {
        match self.parse(bytes) {
            Ok(Status::Complete((frame, n))) if n == bytes.len() => self.request_key(&frame),
            _ => None,
        }
    }

    /// How an incoming frame pairs.
    fn pairing(&self, frame: &Frame) -> Pairing;

    /// The request of the barrier round trip (any reply to it ends the barrier).
    fn barrier(&self) -> Spec;

    /// The field names of this protocol's frames; a name ending in `.` is a prefix
    /// (`headers.` stands for `headers.NAME`, whose names are free-form).
    fn fields(&self) -> &'static [&'static str];

    /// Whether a frame of this protocol can have the field `name` (checked when a scenario
    /// loads and again when a check runs).
    fn known_field(&self, name: &str) -> bool {
        field_in(self.fields(), name)
    }

    /// The bytes to write for a `raw:` send (LeanCloud wraps them into one WebSocket
    /// message); by default exactly the bytes.
    fn raw(&self, bytes: Vec<u8>) -> Vec<u8> {
        bytes
    }

    /// How the wire log shows one frame's bytes (sent or received); by default [`escape`]d.
    fn log_text(&self, bytes: &[u8]) -> String {
        escape(bytes)
    }
}

/// The module for a scenario's protocol.
pub fn for_protocol(p: scenario::Protocol) -> &'static dyn Protocol {
    match p {
        scenario::Protocol::Fetion => &fetion::Fetion,
        scenario::Protocol::LeanCloud => &leancloud::LeanCloud,
        scenario::Protocol::Msnp => &msnp::Msnp,
        scenario::Protocol::Sip => &sip::Sip,
    }
}

/// The module named `name` ([`Protocol::name`]).
pub fn by_name(name: &str) -> Option<&'static dyn Protocol> {
    let all: [&'static dyn Protocol; 6] = [
        driver::module(),
        &fetion::Fetion,
        &leancloud::LeanCloud,
        &msnp::Msnp,
        msrp::module(),
        &sip::Sip,
    ];
    all.into_iter().find(|p| p.name() == name)
}

/// Whether `name` is one of `fields` or starts with one of its prefixes (names ending in `.`).
pub fn field_in(fields: &[&str], name: &str) -> bool {
    fields.iter().any(|f| {
        if f.ends_with('.') {
            name.len() > f.len() && name.starts_with(f)
        } else {
            *f == name
        }
    })
}

/// The first line of `bytes`, escaped for display.
pub fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len());
    escape(cut(bytes.get(..end).unwrap_or_default(), 200))
}

/// At most `max` bytes of `bytes`, never ending inside a UTF-8 character (a cut inside one
/// backs up to its start; bytes that are not UTF-8 are cut where they fall).
pub fn cut(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let mut end = max;
    // Back up over at most three continuation bytes to the start of the character.
    while end > 0 && max - end < 3 && bytes.get(end).is_some_and(|b| b & 0xc0 == 0x80) {
        end -= 1;
    }
    match bytes.get(end..).map(|rest| rest.utf8_chunks().next()) {
        // The character that starts at `end` is valid and crosses `max`: leave it out.
        Some(Some(chunk)) if !chunk.valid().is_empty() => bytes.get(..end).unwrap_or_default(),
        _ => bytes.get(..max).unwrap_or_default(),
    }
}

/// Bytes as text with CR, LF, tab, backslash, other control characters and non-UTF-8
/// bytes escaped.
pub fn escape(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    // Every logged frame passes through here: copy runs of plain text in one go.
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 16 + 8);
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut plain = 0;
        for (i, c) in valid.char_indices() {
            let short = match c {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                '\\' => "\\\\",
                c if c.is_control() => "",
                _ => continue,
            };
            out.push_str(valid.get(plain..i).unwrap_or_default());
            if short.is_empty() {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                out.push_str(short);
            }
            plain = i + c.len_utf8();
        }
        out.push_str(valid.get(plain..).unwrap_or_default());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Interprets `\r`, `\n`, `\t`, `\\`, `\xNN` in a `raw:` string.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some((_, 'r')) => out.push(b'\r'),
            Some((_, 'n')) => out.push(b'\n'),
            Some((_, 't')) => out.push(b'\t'),
            Some((_, '\\')) => out.push(b'\\'),
            Some((_, 'x')) => {
                let hex: String = (0..2)
                    .filter_map(|_| chars.next().map(|(_, h)| h))
                    .collect();
                let b = u8::from_str_radix(&hex, 16).map_err(|_| {
                    format!("raw: `\\x{hex}` at character {i} is not two hex digits")
                })?;
                out.push(b);
            }
            Some((_, other)) => {
                return Err(format!("raw: unknown escape `\\{other}` at character {i}"));
            }
            None => return Err("raw: a lone `\\` at the end".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_text_and_escapes_controls_backslash_and_bad_utf8() {
        assert_eq!(escape(b""), "");
        assert_eq!(escape(b"PNG 1 CON 0"), "PNG 1 CON 0");
        assert_eq!(
            escape(b"PNG 1 CON 0\r\n\tx\\y"),
            "PNG 1 CON 0\\r\\n\\tx\\\\y"
        );
        assert_eq!(escape("宋体\u{7f}\u{85}é".as_bytes()), "宋体\\x7f\\x85é");
        assert_eq!(escape(b"a\xffb\xc3"), "a\\xffb\\xc3");
        assert_eq!(escape(b"\x00\r"), "\\x00\\r");
    }

    #[test]
    fn issue_15_logs_cut_on_character_boundaries() {
        // Why: a wire log cut inside 你 showed `你\xe5\xa5`, read as `你�`.
        let text = "你好".as_bytes();
        assert_eq!(cut(text, 4), "你".as_bytes());
        assert_eq!(cut(text, 5), "你".as_bytes());
        assert_eq!(cut(text, 6), text);
        assert_eq!(cut(b"ab\xff\xfe", 3), b"ab\xff");
        assert_eq!(first_line(&"你".repeat(100).into_bytes()), "你".repeat(66));
    }

    #[test]
    fn request_key_of_matches_request_key_of_the_parsed_frame() {
        let cases: [(&dyn Protocol, &[u8]); 5] = [
            (&msnp::Msnp, b"PNG 7 CON 0\r\n"),
            (&msnp::Msnp, b"PNG 7 CON 0\r\nPNG 8 CON 0\r\n"),
            (
                &fetion::Fetion,
                b"S fetion.com.cn SIP-C/2.0\r\nF: 1\r\nI: 4\r\nQ: 2 S\r\nN: KeepAlive\r\n\r\n",
            ),
            (
                &fetion::Fetion,
                b"SIP-C/2.0 200 OK\r\nI: 4\r\nQ: 2 S\r\n\r\n",
            ),
            (
                &fetion::Fetion,
                b"R fetion.com.cn SIP-C/2.0\r\ni: 1\r\n\r\n",
            ),
        ];
        for (proto, bytes) in cases {
            let via_frame = match proto.parse(bytes) {
                Ok(Status::Complete((f, n))) if n == bytes.len() => proto.request_key(&f),
                _ => None,
            };
            assert_eq!(proto.request_key_of(bytes), via_frame, "{}", escape(bytes));
        }
        assert_eq!(
            msnp::Msnp.request_key_of(b"PNG 7 CON 0\r\n").as_deref(),
            Some("7 PNG")
        );
        assert_eq!(
            msnp::Msnp.request_key_of(b"PNG 7 CON 0\r\nPNG 8 CON 0\r\n"),
            None
        );
    }
}
