//! Protocol modules: each adapts one codec to the runner behind the [`Protocol`] trait.
//!
//! A module cuts frames from a byte buffer, builds a frame from a scenario step, gives the
//! field view the matchers read, pairs replies with requests and offers the barrier round trip.
//! Adding a protocol is adding a module here and a [`crate::scenario::Protocol`] variant.

pub mod fetion;
pub mod msnp;
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
    /// Fetion: the received frame this response answers.
    pub reply_to: Option<Frame>,
}

/// A protocol as the runner sees it.
pub trait Protocol: Send + Sync {
    /// Cuts one frame from the start of `buf`: `Complete((frame, consumed))`, `Incomplete`, or
    /// the codec's error (offset relative to `buf`).
    fn parse(&self, buf: &[u8]) -> Result<Status<(Frame, usize)>, Error>;

    /// Encodes a frame. `counter` is the connection's next transaction number (the runner
    /// increments it after each call).
    fn build(&self, spec: &Spec, counter: u64) -> Result<Vec<u8>, String>;

    /// The key under which a frame we send waits for its reply; `None` when it expects none
    /// (a Fetion response to a server request).
    fn request_key(&self, frame: &Frame) -> Option<String>;

    /// How an incoming frame pairs.
    fn pairing(&self, frame: &Frame) -> Pairing;

    /// The request of the barrier round trip (any reply to it ends the barrier).
    fn barrier(&self) -> Spec;

    /// Field names this protocol understands (for messages about unknown fields).
    fn known_field(&self, name: &str) -> bool;
}

/// The module for a scenario's protocol.
pub fn for_protocol(p: scenario::Protocol) -> &'static dyn Protocol {
    match p {
        scenario::Protocol::Fetion => &fetion::Fetion,
        scenario::Protocol::Msnp => &msnp::Msnp,
    }
}

/// The first line of `bytes`, escaped for display.
pub fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len())
        .min(200);
    escape(bytes.get(..end).unwrap_or_default())
}

/// Bytes as text with CR, LF, tab, backslash and non-UTF-8 bytes escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
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
