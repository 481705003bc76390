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

pub use imspec_codec::text::{cut, escape, first_line, unescape};

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

#[cfg(test)]
mod tests {
    use super::*;

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
