//! Protocol modules: each adapts one codec to the runner behind the [`Protocol`] trait, and
//! [`ALL`] lists them: the one place the harness enumerates protocols.
//!
//! A module names its protocol and the target services its actors use, cuts frames from a
//! byte buffer, builds a frame from a scenario step, says which keys a written frame takes,
//! gives the field view the matchers read, pairs replies with requests, offers the barrier
//! round trip, runs the connection opening handshake (LeanCloud's WebSocket upgrade) and makes
//! account ids fresh to a run. Adding a protocol is adding a module here and a line in
//! [`ALL`] (CONTRIBUTING.md).
//!
//! The layers below the registry: [`crate::transport`] opens byte streams and knows nothing of
//! protocols; [`crate::scenario`] reads the registry to check a script; [`crate::runner`]
//! drives an actor's stream through its module.

pub mod driver;
pub mod fetion;
pub mod http;
pub mod leancloud;
pub mod msnp;
pub mod msrp;
pub mod sip;
pub mod xml;

use std::borrow::Cow;
use std::sync::OnceLock;

use imspec_codec::{Error, Status};

use crate::transport::{BoxFuture, BoxStream};

/// Every protocol module: the scenario protocols (a case's `protocol:`) and the protocols
/// their actors also speak (MSRP in SIP cases, the driver in client cases). Their services,
/// in this order, are the services a target can name.
pub static ALL: [&dyn Protocol; 6] = [
    &fetion::Fetion,
    &msnp::Msnp,
    &sip::Sip,
    &msrp::Msrp,
    &leancloud::LeanCloud,
    &driver::Driver,
];

/// A decoded frame in the protocol-neutral form the runner and the reports use.
///
/// Field names and values are not one `String` each: a value that is a piece of the frame's
/// own bytes is kept as its place in them, a literal name as the literal, and anything
/// computed (a number, a lossy conversion, a joined name) in one text buffer per frame. A
/// frame costs three allocations however many fields it has (its body, a piece of its bytes,
/// is kept as its place too); the runner reads every frame a server sends, so this is the
/// per-frame cost of a run.
#[derive(Clone, Default)]
pub struct Frame {
    /// The exact wire bytes.
    pub bytes: Vec<u8>,
    /// The body the XML checks read (Fetion: the message body; MSNP: the payload body); see
    /// [`Frame::body`].
    body: Body,
    /// Named fields (`method`, `headers.I`, `verb`, …), repeats in wire order.
    fields: Vec<(Text, Text)>,
    /// The computed names and values the fields point into.
    own: String,
    /// A summary other than the first line (set by [`Frame::set_summary`]).
    summary: Option<String>,
    /// Fields made only when a reader asks for one of them ([`Frame::defer`]).
    deferred: Option<Deferred>,
    /// This frame with its deferred fields made, once a reader asked.
    full: OnceLock<Box<Self>>,
}

/// Fields a protocol module makes only when a reader asks for one of them (MSNP's payload
/// headers and body: the runner pairs and checks most frames by their command line alone).
#[derive(Clone, Copy)]
pub struct Deferred {
    /// Whether a field of this name may be among the deferred ones.
    pub covers: fn(&str) -> bool,
    /// Adds the deferred fields, and the body, to the frame; `wire` is a copy of its bytes
    /// (so that values found in it are kept as places).
    pub make: fn(&mut Frame, &[u8]),
}

/// Where a frame's body is.
#[derive(Clone, Debug)]
enum Body {
    /// A range of [`Frame::bytes`].
    Wire(u32, u32),
    /// Bytes of its own (a body that is not a piece of the frame's bytes).
    Own(Vec<u8>),
}

impl Default for Body {
    fn default() -> Self {
        Self::Wire(0, 0)
    }
}

/// Where a field's name or value is.
#[derive(Clone, Copy, Debug)]
enum Text {
    Static(&'static str),
    /// A range of [`Frame::bytes`] (UTF-8 when it was pushed).
    Wire(u32, u32),
    /// A range of [`Frame::own`].
    Own(u32, u32),
}

impl Frame {
    /// A frame of `bytes`, summarised by their first line, with no fields yet.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.to_vec(),
            fields: Vec::with_capacity(8),
            ..Self::default()
        }
    }

    /// Defers fields: `deferred.make` adds them the first time a reader asks for a field
    /// that `deferred.covers`, for every field, or for the body. Readers see the same fields,
    /// in the same order, as if they had been added now.
    pub fn defer(&mut self, deferred: Deferred) {
        self.materialize();
        self.deferred = Some(deferred);
    }

    /// This frame with its deferred fields made (itself when none are deferred).
    fn full(&self) -> &Self {
        match self.deferred {
            None => self,
            Some(d) => self.full.get_or_init(|| Box::new(self.made(d))),
        }
    }

    /// A copy of this frame with the fields `d` defers made.
    fn made(&self, d: Deferred) -> Self {
        let mut f = Self {
            deferred: None,
            full: OnceLock::new(),
            ..self.clone()
        };
        let wire = self.bytes.clone();
        (d.make)(&mut f, &wire);
        f
    }

    /// Makes the deferred fields before the frame changes.
    fn materialize(&mut self) {
        if let Some(d) = self.deferred {
            *self = match self.full.take() {
                Some(full) => *full,
                None => self.made(d),
            };
        }
    }

    /// A frame that could not be decoded: only its bytes.
    pub fn opaque(bytes: Vec<u8>) -> Self {
        let mut f = Self {
            bytes,
            ..Self::default()
        };
        f.push_num("size", f.bytes.len());
        f
    }

    /// The first line (escaped), unless the protocol module gave another summary.
    pub fn summary(&self) -> String {
        self.summary
            .clone()
            .unwrap_or_else(|| first_line(&self.bytes))
    }

    /// Replaces the first-line summary.
    pub fn set_summary(&mut self, summary: String) {
        self.summary = Some(summary);
    }

    /// The `body` (lossy UTF-8) and `size` (of the whole frame) fields, and the body bytes
    /// (`body` a piece of `wire`, the bytes the frame was made [`of`](Frame::of)).
    pub fn push_body(&mut self, body: &[u8], wire: &[u8]) {
        self.push_lossy("body", body, wire);
        self.push_num("size", self.bytes.len());
        self.set_body(body, wire);
    }

    /// The body the XML checks read (empty when the frame has none).
    pub fn body(&self) -> &[u8] {
        let f = self.full();
        match &f.body {
            Body::Wire(a, b) => f.bytes.get(*a as usize..*b as usize).unwrap_or_default(),
            Body::Own(b) => b,
        }
    }

    /// Sets the body: kept as its place in `wire`, the bytes the frame was made
    /// [`of`](Frame::of), when it is a piece of them, else copied.
    pub fn set_body(&mut self, body: &[u8], wire: &[u8]) {
        self.materialize();
        self.body = match place(body, wire, self.bytes.len()) {
            Some((a, b)) => Body::Wire(a, b),
            None => Body::Own(body.to_vec()),
        };
    }

    /// Every value of a field, in order.
    pub fn values<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s str> + use<'s, 'n> {
        let f = self.holding(name);
        f.fields
            .iter()
            .filter(move |(n, _)| f.text(*n) == name)
            .map(|(_, v)| f.text(*v))
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        let f = self.holding(name);
        f.fields
            .iter()
            .find(|(n, _)| f.text(*n) == name)
            .map(|(_, v)| f.text(*v))
    }

    /// The frame that holds the field `name`: this one, or the full one when the field may be
    /// deferred.
    fn holding(&self, name: &str) -> &Self {
        match self.deferred {
            Some(d) if (d.covers)(name) => self.full(),
            _ => self,
        }
    }

    /// Every field as (name, value), in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let f = self.full();
        f.fields.iter().map(|(n, v)| (f.text(*n), f.text(*v)))
    }

    /// Whether the frame has no fields.
    pub fn has_no_fields(&self) -> bool {
        self.full().fields.is_empty()
    }

    /// Keeps only the fields whose name `keep` accepts.
    pub fn retain_fields(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.materialize();
        let mut fields = std::mem::take(&mut self.fields);
        fields.retain(|(n, _)| keep(self.text(*n)));
        self.fields = fields;
    }

    /// Adds a field.
    pub fn push(&mut self, name: &'static str, value: impl AsRef<str>) {
        self.materialize();
        let v = self.own_text(value.as_ref());
        self.fields.push((Text::Static(name), v));
    }

    /// Adds a field whose name is made at run time (`headers.NAME`).
    pub fn push_named(&mut self, name: &str, value: impl AsRef<str>) {
        self.materialize();
        let n = self.own_text(name);
        let v = self.own_text(value.as_ref());
        self.fields.push((n, v));
    }

    /// Adds `prefix.name` = `value` (a header under its block's prefix), `value` kept as its
    /// place in `wire` when it is a piece of it (see [`Frame::push_in`]).
    pub fn push_prefixed(&mut self, prefix: &str, name: &str, value: &str, wire: &[u8]) {
        self.materialize();
        let start = self.own.len();
        self.own.push_str(prefix);
        self.own.push('.');
        self.own.push_str(name);
        let n = Text::Own(pos(start), pos(self.own.len()));
        let v = self.wire_text(value, wire);
        self.fields.push((n, v));
    }

    /// Adds a field whose value is a piece of `wire`, the bytes this frame was made
    /// [`of`](Frame::of): kept as its place there, not copied (a value from elsewhere is copied).
    pub fn push_in(&mut self, name: &'static str, value: &str, wire: &[u8]) {
        self.materialize();
        let v = self.wire_text(value, wire);
        self.fields.push((Text::Static(name), v));
    }

    /// [`push_in`](Frame::push_in) for bytes that are read as lossy UTF-8.
    pub fn push_lossy(&mut self, name: &'static str, value: &[u8], wire: &[u8]) {
        match std::str::from_utf8(value) {
            Ok(v) => self.push_in(name, v, wire),
            Err(_) => self.push(name, String::from_utf8_lossy(value)),
        }
    }

    /// Adds a field whose value is a whole number.
    pub fn push_num(&mut self, name: &'static str, value: impl itoa::Integer) {
        self.materialize();
        let v = self.own_text(itoa::Buffer::new().format(value));
        self.fields.push((Text::Static(name), v));
    }

    fn own_text(&mut self, s: &str) -> Text {
        let start = self.own.len();
        self.own.push_str(s);
        Text::Own(pos(start), pos(self.own.len()))
    }

    fn wire_text(&mut self, value: &str, wire: &[u8]) -> Text {
        match place(value.as_bytes(), wire, self.bytes.len()) {
            Some((a, b)) => Text::Wire(a, b),
            None => self.own_text(value),
        }
    }

    fn text(&self, t: Text) -> &str {
        match t {
            Text::Static(s) => s,
            Text::Wire(a, b) => self
                .bytes
                .get(a as usize..b as usize)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or(""),
            Text::Own(a, b) => self.own.get(a as usize..b as usize).unwrap_or(""),
        }
    }
}

/// Where `piece` is in `wire` (bytes of a frame `len` long), when it is a piece of them.
fn place(piece: &[u8], wire: &[u8], len: usize) -> Option<(u32, u32)> {
    let (at, base) = (piece.as_ptr() as usize, wire.as_ptr() as usize);
    let inside = at >= base && at + piece.len() <= base + wire.len() && wire.len() == len;
    inside.then(|| (pos(at - base), pos(at - base + piece.len())))
}

/// A place in a frame's bytes or text (frames are far below 4 GiB: the runner's buffer
/// limit is 2 MiB).
fn pos(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
            && self.body() == other.body()
            && self.summary() == other.summary()
            && self.fields().eq(other.fields())
    }
}

impl Eq for Frame {}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("summary", &self.summary())
            .field("fields", &self.fields().collect::<Vec<_>>())
            .field("bytes", &escape(&self.bytes))
            .finish()
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

/// A frame to build, with every template already resolved (borrowing the scenario's text
/// where a template is literal).
#[derive(Clone, Debug, Default)]
pub struct Spec<'a> {
    /// See [`crate::scenario::FrameSpec`].
    pub method: Option<Cow<'a, str>>,
    /// Fetion response status.
    pub status: Option<Cow<'a, str>>,
    /// Fetion reason phrase.
    pub reason: Option<Cow<'a, str>>,
    /// Target.
    pub target: Option<Cow<'a, str>>,
    /// Fetion version token.
    pub version: Option<Cow<'a, str>>,
    /// MSNP verb.
    pub verb: Option<Cow<'a, str>>,
    /// MSNP TrID.
    pub trid: Option<Cow<'a, str>>,
    /// MSNP length override.
    pub length: Option<Cow<'a, str>>,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// MSNP layered blocks.
    pub blocks: Vec<Vec<(String, String)>>,
    /// Body text.
    pub body: Option<Cow<'a, str>>,
    /// Fetion, SIP: the received frame this response answers.
    pub reply_to: Option<Frame>,
    /// The sending connection's local `host:port` (SIP's `Via` sent-by).
    pub local: Option<Cow<'a, str>>,
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

    /// The target services actors of this protocol connect to (`--target NAME=HOST:PORT`,
    /// `actors: {alice: NAME}`), the protocol's own first.
    fn services(&self) -> &'static [&'static str];

    /// One line saying what the protocol is (the scenario schema shows it).
    fn about(&self) -> &'static str;

    /// One line saying what a target `service` of this protocol is (the scenario schema shows
    /// it); by default [`about`](Self::about).
    fn about_service(&self, service: &str) -> &'static str {
        let _ = service;
        self.about()
    }

    /// Whether [`build`](Protocol::build) reads [`Spec::local`] (SIP's `Via` sent-by); the
    /// runner looks the address up only then.
    fn builds_with_local(&self) -> bool {
        false
    }

    /// Whether a scenario may name this protocol as its `protocol:` (MSRP and the driver
    /// are only spoken by actors of other protocols' cases).
    fn scenario_protocol(&self) -> bool {
        true
    }

    /// The keys a written frame (`send:`) of this protocol takes.
    fn frame_keys(&self) -> FrameKeys;

    /// An account id fresh to one run of a case for `role` (`${fresh:alice}`), from a hash
    /// of the run and the role.
    fn fresh_id(&self, role: &str, hash: u64) -> String {
        format!("{role}_{:08x}", hash & 0xffff_ffff)
    }

    /// The capability a target must claim for the barrier round trip to be used; without it
    /// the barrier is a quiet period (Fetion: the round trip is a KeepAlive).
    fn barrier_claim(&self) -> Option<&'static str> {
        None
    }

    /// The connection opening handshake this protocol runs over a connected stream before its
    /// first frame, named for messages (`WebSocket`); `None` when frames start at once.
    fn handshake(&self) -> Option<&'static str> {
        None
    }

    /// Runs the [`handshake`](Self::handshake) over `stream` and returns the stream the
    /// frames travel on. By default the stream as it is.
    fn open<'a>(
        &'a self,
        stream: BoxStream,
        opening: Opening<'a>,
    ) -> BoxFuture<'a, Result<Opened, String>> {
        let _ = opening;
        Box::pin(async move { Ok(Opened { stream, note: None }) })
    }

    /// What a connection's bytes are, as a capture names them: the protocol's name, or the
    /// framing it runs in (`websocket`).
    fn carried(&self) -> &'static str {
        self.name()
    }

    /// Whether a service of this protocol takes actor options (`format:`, `version:`).
    fn takes_actor_options(&self, service: &str) -> bool {
        let _ = service;
        false
    }

    /// The `host:port` to dial when an address learned at run time belongs to this protocol
    /// (an MSRP URI); `None` when it does not.
    fn address_of(&self, address: &str) -> Option<String> {
        let _ = address;
        None
    }

    /// The other protocols an actor of this protocol's cases may speak at an address learned
    /// at run time (SIP: MSRP, from an SDP `a=path:`).
    fn address_protocols(&self) -> &'static [&'static dyn Protocol] {
        &[]
    }

    /// What the network fuzzer may mutate in a frame of this protocol beyond its bytes.
    fn mutable(&self) -> Mutable {
        Mutable::Bytes
    }

    /// Requests a live server answers on a fresh connection (any answer, an error included),
    /// as the frame keys of a `send:` step, each line indented four spaces; `{actor}` stands
    /// for the sending actor's name. The network fuzzer's liveness probe sends them.
    fn liveness(&self) -> &'static [&'static str] {
        &[]
    }

    /// How a report's arrow names the key that pairs `frame` (`I 3 · Q 1 S`, `CSeq 2
    /// REGISTER`, `TrID 7`); `None` when it has none.
    fn key_label(&self, frame: &Frame) -> Option<String> {
        let _ = frame;
        None
    }

    /// What a report's arrow adds after the frame's name (LeanCloud: the `op`).
    fn label_detail(&self, frame: &Frame) -> Option<String> {
        let _ = frame;
        None
    }

    /// The skeleton `imspec new` writes for a case of this protocol.
    fn skeleton(&self) -> Option<Skeleton> {
        None
    }

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
    fn barrier(&self) -> Spec<'static>;

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

/// The module named `name` ([`Protocol::name`]).
pub fn by_name(name: &str) -> Option<&'static dyn Protocol> {
    ALL.iter().copied().find(|p| p.name() == name)
}

/// The module whose [`services`](Protocol::services) include `service`.
pub fn by_service(service: &str) -> Option<&'static dyn Protocol> {
    ALL.iter()
        .copied()
        .find(|p| p.services().contains(&service))
}

/// Every service a target can name, in [`ALL`]'s order.
pub fn services() -> impl Iterator<Item = &'static str> {
    ALL.iter().flat_map(|p| p.services().iter().copied())
}

/// The keys a written frame of a protocol takes (checked when a scenario loads).
#[derive(Clone, Copy, Debug)]
pub struct FrameKeys {
    /// Keys of other protocols' frames that this protocol's frames do not take.
    pub foreign: &'static [&'static str],
    /// A frame needs exactly one of these (a request's and a response's first key).
    pub one_of: &'static [&'static str],
    /// What the loader says when a frame has none, or more than one, of [`one_of`](Self::one_of).
    pub missing: &'static str,
}

/// The parts of a frame the network fuzzer edits structurally ([`Protocol::mutable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutable {
    /// Only the bytes (truncate, duplicate, flip).
    Bytes,
    /// A start line of tokens, `Name: value` header lines and a body whose length a header
    /// states (SIP-C).
    Headers,
    /// A command line whose last token is the payload length, and a payload of header
    /// blocks and a body (MSNP).
    Command,
}

impl FrameKeys {
    /// The keys of a request-or-response protocol (SIP-C, SIP, MSRP): exactly one of
    /// `method:` and `status:`, none of MSNP's.
    pub const fn request_or_response(missing: &'static str) -> Self {
        Self {
            foreign: &["verb", "trid", "length", "blocks"],
            one_of: &["method", "status"],
            missing,
        }
    }

    /// The keys of a protocol whose frames are written as a `command:` tree (LeanCloud,
    /// the driver): none of the line protocols' keys.
    pub const fn command(missing: &'static str) -> Self {
        Self {
            foreign: &[
                "method", "status", "reason", "target", "version", "verb", "trid", "length",
                "headers", "blocks", "body", "reply_to",
            ],
            one_of: &["command"],
            missing,
        }
    }
}

/// What the [`Protocol::open`] handshake knows of the connection.
#[derive(Clone, Debug)]
pub struct Opening<'a> {
    /// The `Host` the server sees: the `host:port` dialled, else the service name (in
    /// memory); `Err` for an address that is not `host:port`.
    pub host: Result<String, String>,
    /// imspec accepted the connection (it plays the server: a client case).
    pub accepts: bool,
    /// The actor's options in the scenario.
    pub options: Option<&'a ActorOptions>,
}

/// The stream after [`Protocol::open`], and what to note in the wire log.
pub struct Opened {
    /// The stream frames travel on.
    pub stream: BoxStream,
    /// A line for the wire log: with `Some(kind)` an event of that kind (`connect`), else a
    /// plain note.
    pub note: Option<(Option<&'static str>, String)>,
}

/// Per-actor connection options: `alice: { service: leancloud, format: proto2base64 }`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ActorOptions {
    /// LeanCloud framing: `protobuf2` (binary frames, the default) or `proto2base64`.
    pub format: Option<String>,
    /// LeanCloud subprotocol version: `3` (the default) or `1`.
    pub version: Option<String>,
}

/// The skeleton of a new case (`imspec new`): its `actors:` block and its steps.
#[derive(Clone, Copy, Debug)]
pub struct Skeleton {
    /// Text before `actors:` and the block itself (`params:` … `actors:\n  alice: fetion\n`).
    pub actors: &'static str,
    /// The steps, each line indented as under `steps:`.
    pub steps: &'static str,
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
    fn deferred_fields_read_as_if_made_at_once() {
        // Why: MSNP frames make their payload's fields only when one is asked for; readers
        // must see the same fields, in the same order, whenever that happens.
        let payload = "Registration: R\r\n\r\nRouting: 1.0\r\nTo: 8:bob\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\nContent-Length: 2\r\n\r\nhi";
        let wire = format!("SDG 7 MSGR {}\r\n{payload}", payload.len());
        let Ok(Status::Complete((lazy, n))) = msnp::Msnp.parse(wire.as_bytes()) else {
            panic!("not parsed");
        };
        assert_eq!(n, wire.len());
        // The command line is read without making the rest.
        assert_eq!(lazy.get("verb"), Some("SDG"));
        assert_eq!(lazy.values("trid").collect::<Vec<_>>(), ["7"]);
        assert!(lazy.full.get().is_none());
        // Made by a change instead of a read.
        let mut early = lazy.clone();
        early.retain_fields(|_| true);
        assert!(early.deferred.is_none());
        let names: Vec<&str> = early.fields().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "verb",
                "trid",
                "target",
                "length",
                "payload",
                "size",
                "headers.Registration",
                "body",
                "routing.Routing",
                "routing.To",
                "reliability.Reliability",
                "messaging.Messaging",
                "messaging.Content-Length",
                "content",
            ]
        );
        assert_eq!(lazy.get("routing.To"), Some("8:bob"));
        assert!(lazy.full.get().is_some());
        assert_eq!(lazy.get("content"), Some("hi"));
        assert!(lazy.body().starts_with(b"Routing: 1.0"));
        assert_eq!(lazy.body(), early.body());
        assert_eq!(
            lazy.fields().collect::<Vec<_>>(),
            early.fields().collect::<Vec<_>>()
        );
        assert_eq!(lazy, early);
        // A field added after the deferral comes after the deferred ones.
        let mut added = lazy.clone();
        added.push("note", "x");
        assert_eq!(added.fields().last(), Some(("note", "x")));
        assert_eq!(added.get("headers.Registration"), Some("R"));
    }

    #[test]
    fn frame_fields_read_the_same_wherever_their_text_is_kept() {
        // Why: values are kept as places in the frame's bytes when they are pieces of them,
        // else copied; readers must not see the difference.
        let wire = b"MSG 7 N 5\r\nhello";
        let verb = std::str::from_utf8(&wire[..3]).unwrap();
        let mut placed = Frame::of(wire);
        placed.push_in("verb", verb, wire);
        placed.push_num("trid", 7u32);
        placed.push_prefixed("headers", "To", &"x".repeat(3), wire);
        placed.push_lossy("body", &wire[11..], wire);
        placed.push_lossy("bad", b"\xffok", wire);
        let mut copied = Frame::of(wire);
        copied.push("verb", "MSG");
        copied.push("trid", "7");
        copied.push_named("headers.To", "xxx");
        copied.push("body", "hello");
        copied.push("bad", "\u{fffd}ok");
        assert_eq!(placed, copied);
        assert_eq!(placed.get("verb"), Some("MSG"));
        assert_eq!(placed.get("trid"), Some("7"));
        assert_eq!(placed.get("headers.To"), Some("xxx"));
        assert_eq!(placed.get("body"), Some("hello"));
        assert_eq!(placed.get("bad"), Some("\u{fffd}ok"));
        assert_eq!(placed.get("nope"), None);
        // A value from another buffer is copied even when `wire` is given.
        let other = String::from("elsewhere");
        placed.push_in("target", &other, wire);
        drop(other);
        assert_eq!(placed.get("target"), Some("elsewhere"));
        placed.push("verb", "again");
        assert_eq!(placed.values("verb").collect::<Vec<_>>(), ["MSG", "again"]);
        // The body likewise: a piece of the bytes is kept as its place, else copied.
        assert_eq!(placed.body(), b"");
        placed.set_body(&wire[11..], wire);
        assert_eq!(placed.body(), b"hello");
        let elsewhere = b"hello".to_vec();
        copied.set_body(&elsewhere, wire);
        drop(elsewhere);
        assert_eq!(copied.body(), b"hello");
        copied.set_body(b"other", wire);
        assert_ne!(placed, copied);
        placed.retain_fields(|n| n != "verb");
        assert_eq!(placed.get("verb"), None);
        assert_eq!(placed.summary(), "MSG 7 N 5");
        placed.set_summary("other".into());
        assert_eq!(placed.summary(), "other");
        assert_ne!(placed, copied);
    }

    #[test]
    fn the_registry_names_each_protocol_and_service_once() {
        let mut names: Vec<&str> = ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "two modules share a name");
        let services: Vec<&str> = services().collect();
        let mut unique = services.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), services.len(), "two modules claim a service");
        for p in ALL {
            assert_eq!(by_name(p.name()).map(|m| m.name()), Some(p.name()));
            assert!(!p.services().is_empty(), "{} has no service", p.name());
            for s in p.services() {
                assert_eq!(by_service(s).map(|m| m.name()), Some(p.name()));
            }
            if p.scenario_protocol() {
                assert!(p.skeleton().is_some(), "{} has no skeleton", p.name());
                assert_eq!(p.liveness().len(), 2, "{} liveness", p.name());
            }
        }
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
