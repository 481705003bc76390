//! Fetion SIP-C messages (`SIP-C/2.0`, also `SIP-C/4.0`): framing, compact headers, bodies.
//!
//! Sources: the seed 004 capture (Fetion 3.5, 2009), maplefetion's `SipcHeader`/`SipcMethod`/
//! `SipcStatus`, pidgin-openfetion `fx_sip.c`, PyFetion; see `docs/protocols/fetion.md`.
//!
//! ```text
//! message      = start-line *(header CRLF) CRLF [body]
//! start-line   = request-line / status-line
//! request-line = method SP target SP version CRLF       ; "S fetion.com.cn SIP-C/2.0"
//! status-line  = version SP 3DIGIT SP reason CRLF        ; "SIP-C/2.0 200 OK"
//! version      = "SIP-C/2.0" / "SIP-C/4.0"
//! header       = name ":" SP value                        ; 1–2 upper-case letters; may repeat (K)
//! body         = exactly L bytes                          ; no L => no body
//! ```
//!
//! The boundary of a message is the blank line plus the `L:` byte count (PyFetion
//! `__split`, openfetion `fetion_sip_get_length`): a reader never searches the body.
//!
//! Deviations, all opt-in through [`Limits`]: bare-LF line endings (`allow_bare_lf`, for
//! captures pasted from logs) and `Name:value` without the space (`allow_no_space`).
//! Typed header values are in [`header`], typed bodies in [`body`].
//!
//! Two forms of one parser: [`parse`] gives a [`Message`] (its header list a vector, ready to
//! edit and encode); [`parse_ref`] a [`MessageRef`] that keeps the header lines as offsets
//! into the input, for readers that look at a few headers or only at where a message ends.

use std::borrow::Cow;

use crate::header::{BlockLimits, Headers, Spans};
use crate::{Error, ErrorKind, Needed, Status, scan};

pub mod body;
mod codec;
pub mod digest;
pub mod header;

pub use codec::Fetion;

/// One SIP-C message: a request or a response.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Message<'a> {
    /// The request or status line.
    #[serde(flatten)]
    pub start: StartLine<'a>,
    /// Header lines in wire order, repeats included.
    pub headers: Headers<'a>,
    /// Exactly `L` bytes; empty when there is no `L`.
    #[serde(serialize_with = "crate::ser::bytes")]
    pub body: Cow<'a, [u8]>,
}

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StartLine<'a> {
    /// `method SP target SP version`.
    Request {
        /// `R`, `S`, `M`, `BN`, … or any other token, kept as written.
        method: Method<'a>,
        /// `fetion.com.cn` from clients; the receiver's Fetion number from the server.
        target: Cow<'a, str>,
        /// The protocol version.
        version: Version,
    },
    /// `version SP status SP reason`.
    Response {
        /// The protocol version.
        version: Version,
        /// Three-digit status code.
        status: u16,
        /// The reason phrase, possibly empty, kept as written.
        reason: Cow<'a, str>,
    },
}

/// A request method token (`R`, `S`, `M`, …). Unknown tokens are kept as such.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Method<'a>(Cow<'a, str>);

/// The SIP-C version token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Version {
    /// `SIP-C/2.0` (Fetion 3.x, seed 004).
    #[serde(rename = "SIP-C/2.0")]
    V2,
    /// `SIP-C/4.0` (Fetion 2008+ clients: openfetion, maplefetion).
    #[serde(rename = "SIP-C/4.0")]
    V4,
}

/// Bounds and opt-in leniencies for [`parse_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in the start line and header block together, blank line included.
    pub max_head: usize,
    /// Most header lines.
    pub max_headers: usize,
    /// Largest `L:` accepted.
    pub max_body: usize,
    /// Accept lines ending in a bare LF.
    pub allow_bare_lf: bool,
    /// Accept `Name:value` with no space after the colon.
    pub allow_no_space: bool,
    /// Read an `A:` value whose scheme ran into its first parameter (`TICKSauth="…"`, seed
    /// 004 as printed) in [`Message::auth_with`].
    pub allow_glued_auth_scheme: bool,
    /// Read `A:` parameters with white space around `=` and `,` and unquoted values
    /// (`Digest algorithm=MD5`) in [`Message::auth_with`].
    pub allow_loose_auth_params: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 1024 * 1024,
            allow_bare_lf: false,
            allow_no_space: false,
            allow_glued_auth_scheme: false,
            allow_loose_auth_params: false,
        }
    }
}

impl Limits {
    /// The defaults with every leniency switched on.
    pub fn lenient() -> Self {
        Self {
            allow_bare_lf: true,
            allow_no_space: true,
            allow_glued_auth_scheme: true,
            allow_loose_auth_params: true,
            ..Self::default()
        }
    }
}

/// Decodes one message from the start of `buf` with the default [`Limits`].
///
/// Returns the message and the number of bytes it occupies.
pub fn parse(buf: &[u8]) -> crate::Result<(Message<'_>, usize)> {
    parse_with(buf, &Limits::default())
}

/// Decodes one message from the start of `buf`.
pub fn parse_with<'a>(buf: &'a [u8], limits: &Limits) -> crate::Result<(Message<'a>, usize)> {
    let mut spans = Spans::default();
    Ok(match read(buf, limits, &mut spans)? {
        Status::Complete((head, n)) => Status::Complete((head.build(&spans), n)),
        Status::Incomplete(n) => Status::Incomplete(n),
    })
}

/// Reads one message in place from the start of `buf`, with the default [`Limits`]: every
/// check of [`parse`], nothing copied (see [`MessageRef`]).
#[inline]
pub fn parse_ref(buf: &[u8]) -> crate::Result<(MessageRef<'_>, usize)> {
    parse_ref_with(buf, &Limits::default())
}

/// Reads one message in place from the start of `buf` (see [`MessageRef`]). It and
/// [`parse_with`] are one parser: they differ only in what they make of its spans.
#[inline]
pub fn parse_ref_with<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> crate::Result<(MessageRef<'a>, usize)> {
    let mut spans = Spans::default();
    Ok(match read(buf, limits, &mut spans)? {
        Status::Complete((head, n)) => Status::Complete((MessageRef { head, spans }, n)),
        Status::Incomplete(n) => Status::Incomplete(n),
    })
}

/// What [`read`] found besides the header spans: the start line and the head's text, the
/// body.
#[derive(Clone, Copy)]
struct Head<'a> {
    /// The start line and the header block, without the blank line.
    text: &'a str,
    start: StartSpans,
    body: &'a [u8],
}

impl<'a> Head<'a> {
    /// The message whose header lines are `spans`.
    fn build(self, spans: &Spans) -> Message<'a> {
        Message {
            start: self.start.build(self.text),
            headers: crate::header::build(self.text, 0, spans),
            body: Cow::Borrowed(self.body),
        }
    }
}

/// The parser behind [`parse_with`] and [`parse_ref_with`]: every check, with the header
/// lines left in the caller's `spans` (so that `parse_with` builds the headers from them
/// where they are: returned in a value, their inline storage is copied, about 90
/// instructions on seed 004's `M`; callgrind). Inlined into both, as it was into
/// `parse_with` when that was the only one.
#[inline(always)]
fn read<'a>(buf: &'a [u8], limits: &Limits, spans: &mut Spans) -> crate::Result<(Head<'a>, usize)> {
    let head_limit = |status: Status<_>| match status {
        Status::Incomplete(_) if buf.len() > limits.max_head => {
            Err(Error::new(ErrorKind::LimitExceeded, limits.max_head))
        }
        other => Ok(other),
    };
    // A structural error is reported unless a UTF-8 error comes before it, so that the first
    // offending byte wins however the input is cut.
    let first = |e: Error| scan::utf8(buf, 0, e.offset()).err().unwrap_or(e);
    // The head is scanned within its bound only (see `scan::within`).
    let head = scan::within(buf, limits.max_head);
    let Some(line) = scan::line(head, 0, limits.allow_bare_lf).map_err(first)? else {
        return head_limit(Status::Incomplete(Needed::Unknown));
    };
    if line.next > limits.max_head {
        return Err(Error::new(ErrorKind::LimitExceeded, limits.max_head));
    }
    let start = parse_start_line(buf, line.end).map_err(first)?;
    let block = BlockLimits {
        max_headers: limits.max_headers,
        allow_bare_lf: limits.allow_bare_lf,
        allow_no_space: limits.allow_no_space,
    };
    spans.key_by(b'L');
    let (blank, head_end) =
        match crate::header::scan_block(head, line.next, &block, spans).map_err(first)? {
            Status::Complete(v) => v,
            Status::Incomplete(n) => return head_limit(Status::Incomplete(n)),
        };
    if head_end > limits.max_head {
        return Err(Error::new(ErrorKind::LimitExceeded, limits.max_head));
    }
    // One UTF-8 validation for the start line and every header.
    let text = scan::utf8(buf, 0, blank)?;
    let body_len = body_length(buf, spans, limits)?;
    let end = head_end.saturating_add(body_len);
    let Some(body) = buf.get(head_end..end) else {
        return Ok(Status::Incomplete(Needed::bytes(end - buf.len())));
    };
    Ok(Status::Complete((Head { text, start, body }, end)))
}

/// One SIP-C message read in place by [`parse_ref`]: its start line typed, its head
/// validated as UTF-8, its header lines located and `L:` checked against the body, as
/// [`parse`] does; but the header list is kept as offsets into the buffer and nothing is
/// copied or allocated (for up to 16 header lines). Headers are read from it by name or in
/// order; [`to_message`](Self::to_message) gives the [`Message`].
///
/// For a reader that looks at a few headers of each message (a proxy routing on `T:`, a
/// test matching on `I:` and `Q:`), or only at where a message ends.
pub struct MessageRef<'a> {
    head: Head<'a>,
    spans: Spans,
}

impl<'a> MessageRef<'a> {
    /// The start line.
    pub fn start(&self) -> StartLine<'a> {
        self.head.start.build(self.head.text)
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.head.start, StartSpans::Request { .. })
    }

    /// The number of header lines.
    pub fn header_count(&self) -> usize {
        self.spans.len()
    }

    /// The first header named `name` (ASCII case-insensitive, as [`Headers::get`]), its value
    /// without the white space at either end.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header line's name and value, in wire order.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        // SIP-C has no folded lines, so every line has its name and value.
        (0..self.spans.len()).filter_map(|i| self.spans.name_value(self.head.text, 0, i))
    }

    /// The body: exactly `L` bytes.
    pub fn body(&self) -> &'a [u8] {
        self.head.body
    }

    /// The message as a [`Message`], borrowing the same buffer.
    pub fn to_message(&self) -> Message<'a> {
        self.head.build(&self.spans)
    }
}

impl core::fmt::Debug for MessageRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.to_message(), f)
    }
}

impl<'a> Message<'a> {
    /// A request with no headers and no body.
    pub fn request(
        method: impl Into<Method<'a>>,
        target: impl Into<Cow<'a, str>>,
        version: Version,
    ) -> Self {
        Self {
            start: StartLine::Request {
                method: method.into(),
                target: target.into(),
                version,
            },
            headers: Headers::new(),
            body: Cow::Borrowed(b""),
        }
    }

    /// A response with no headers and no body.
    pub fn response(version: Version, status: u16, reason: impl Into<Cow<'a, str>>) -> Self {
        Self {
            start: StartLine::Response {
                version,
                status,
                reason: reason.into(),
            },
            headers: Headers::new(),
            body: Cow::Borrowed(b""),
        }
    }

    /// Appends a header line (builder style).
    #[must_use]
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Sets the body and keeps `L:` equal to its length: replaced in place if present,
    /// appended if not, removed for an empty body.
    pub fn set_body(&mut self, body: impl Into<Cow<'a, [u8]>>) {
        self.body = body.into();
        if self.body.is_empty() {
            self.headers.remove("L");
        } else {
            self.headers.set("L", self.body.len().to_string());
        }
    }

    /// Sets the body (builder style); see [`set_body`](Self::set_body).
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Cow<'a, [u8]>>) -> Self {
        self.set_body(body);
        self
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, for requests.
    pub fn method(&self) -> Option<&Method<'a>> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code, for responses.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// The version token of the start line.
    pub fn version(&self) -> Version {
        match self.start {
            StartLine::Request { version, .. } | StartLine::Response { version, .. } => version,
        }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// `I:` (Call-ID), typed; `None` when absent. Errors are offsets into the value.
    pub fn call_id(&self) -> Option<Result<header::CallId, Error>> {
        self.header("I").map(header::CallId::parse)
    }

    /// `Q:` (CSeq), typed; `None` when absent.
    pub fn cseq(&self) -> Option<Result<header::CSeq<'_>, Error>> {
        self.header("Q").map(header::CSeq::parse)
    }

    /// `A:` (credential or chat-server address), typed; `None` when absent.
    pub fn auth(&self) -> Option<Result<header::Auth<'_>, Error>> {
        self.header("A").map(header::Auth::parse)
    }

    /// `A:` with the `A:` leniencies of `limits` (see [`header::Auth::parse_with`]).
    pub fn auth_with(&self, limits: &Limits) -> Option<Result<header::Auth<'_>, Error>> {
        self.header("A")
            .map(|a| header::Auth::parse_with(a, limits))
    }

    /// `W:` (the 401 challenge), typed; `None` when absent.
    pub fn challenge(&self) -> Option<Result<header::Challenge<'_>, Error>> {
        self.header("W").map(header::Challenge::parse)
    }

    /// `F:` (From), typed; `None` when absent.
    pub fn from(&self) -> Option<Result<header::Address<'_>, Error>> {
        self.header("F").map(header::Address::parse)
    }

    /// `T:` (To), typed; `None` when absent.
    pub fn to(&self) -> Option<Result<header::Address<'_>, Error>> {
        self.header("T").map(header::Address::parse)
    }

    /// `N:` (event name), typed; `None` when absent.
    pub fn event(&self) -> Option<Result<header::EventName<'_>, Error>> {
        self.header("N").map(header::EventName::parse)
    }

    /// `XI:` (message id, 32 hex digits), typed; `None` when absent.
    pub fn message_id(&self) -> Option<Result<header::MessageId<'_>, Error>> {
        self.header("XI").map(header::MessageId::parse)
    }

    /// `D:` (RFC 1123 date), typed; `None` when absent.
    pub fn date(&self) -> Option<Result<header::Date<'_>, Error>> {
        self.header("D").map(header::Date::parse)
    }

    /// `X:` (expiry in seconds), typed; `None` when absent.
    pub fn expires(&self) -> Option<Result<header::Expires, Error>> {
        self.header("X").map(header::Expires::parse)
    }

    /// `C:` (content type), typed; `None` when absent.
    pub fn content_type(&self) -> Option<Result<header::ContentType<'_>, Error>> {
        self.header("C").map(header::ContentType::parse)
    }

    /// The body as `<args>` (S requests such as InviteBuddy, the login R). Offsets are
    /// relative to the body.
    pub fn args(&self) -> Result<body::Args<'_>, Error> {
        body::Args::parse(&self.body)
    }

    /// The body as `<events>` (BN pushes).
    pub fn events(&self) -> Result<body::Events<'_>, Error> {
        body::Events::parse(&self.body)
    }

    /// The body as INVITE session lines (`s=`, `m=`, `a=user:`).
    pub fn session(&self) -> Result<body::Session<'_>, Error> {
        body::Session::parse(&self.body)
    }

    /// The body as UTF-8 text, if it is.
    pub fn body_text(&self) -> Option<&str> {
        core::str::from_utf8(&self.body).ok()
    }

    /// Writes the message in wire form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        match &self.start {
            StartLine::Request {
                method,
                target,
                version,
            } => {
                out.extend_from_slice(method.as_str().as_bytes());
                out.push(b' ');
                out.extend_from_slice(target.as_bytes());
                out.push(b' ');
                out.extend_from_slice(version.as_str().as_bytes());
            }
            StartLine::Response {
                version,
                status,
                reason,
            } => {
                out.extend_from_slice(version.as_str().as_bytes());
                out.push(b' ');
                push_status(out, *status);
                out.push(b' ');
                out.extend_from_slice(reason.as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        self.headers.encode(out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The message in wire form, as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        let start = match &self.start {
            StartLine::Request {
                method,
                target,
                version,
            } => method.as_str().len() + 1 + target.len() + 1 + version.as_str().len(),
            StartLine::Response {
                version, reason, ..
            } => version.as_str().len() + 1 + 3 + 1 + reason.len(),
        };
        start + 2 + self.headers.encoded_len() + 2 + self.body.len()
    }

    /// The same message owning its data.
    pub fn into_owned(self) -> Message<'static> {
        let start = match self.start {
            StartLine::Request {
                method,
                target,
                version,
            } => StartLine::Request {
                method: method.into_owned(),
                target: Cow::Owned(target.into_owned()),
                version,
            },
            StartLine::Response {
                version,
                status,
                reason,
            } => StartLine::Response {
                version,
                status,
                reason: Cow::Owned(reason.into_owned()),
            },
        };
        Message {
            start,
            headers: self.headers.into_owned(),
            body: Cow::Owned(self.body.into_owned()),
        }
    }
}

impl<'a> Method<'a> {
    /// `A`: ACK.
    pub const ACK: Method<'static> = Method(Cow::Borrowed("A"));
    /// `B`: BYE.
    pub const BYE: Method<'static> = Method(Cow::Borrowed("B"));
    /// `BN`: BENOTIFY, server pushes with the event in `N:`.
    pub const BENOTIFY: Method<'static> = Method(Cow::Borrowed("BN"));
    /// `IN`: INFO (typing, nudge).
    pub const INFO: Method<'static> = Method(Cow::Borrowed("IN"));
    /// `I`: INVITE (server to invitee).
    pub const INVITE: Method<'static> = Method(Cow::Borrowed("I"));
    /// `M`: MESSAGE.
    pub const MESSAGE: Method<'static> = Method(Cow::Borrowed("M"));
    /// `O`: OPTION.
    pub const OPTION: Method<'static> = Method(Cow::Borrowed("O"));
    /// `R`: REGISTER (login, keep-alive; `X: 0` logs out).
    pub const REGISTER: Method<'static> = Method(Cow::Borrowed("R"));
    /// `S`: SERVICE, the event named by `N:`.
    pub const SERVICE: Method<'static> = Method(Cow::Borrowed("S"));
    /// `SUB`: SUBSCRIBE.
    pub const SUBSCRIBE: Method<'static> = Method(Cow::Borrowed("SUB"));

    /// A method from its token. `None` when the token is empty or has a byte that is not a
    /// token byte.
    pub fn new(token: impl Into<Cow<'a, str>>) -> Option<Self> {
        let token = token.into();
        (!token.is_empty() && token.bytes().all(scan::is_token)).then_some(Self(token))
    }

    /// The token as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same method owning its token.
    pub fn into_owned(self) -> Method<'static> {
        Method(Cow::Owned(self.0.into_owned()))
    }
}

impl<'a> From<Method<'a>> for Cow<'a, str> {
    fn from(m: Method<'a>) -> Self {
        m.0
    }
}

impl<'a> From<&Self> for Method<'a> {
    fn from(m: &Self) -> Self {
        m.clone()
    }
}

impl core::fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Version {
    /// The token as written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "SIP-C/2.0",
            Self::V4 => "SIP-C/4.0",
        }
    }

    fn from_bytes(b: &[u8]) -> Option<Self> {
        match b {
            b"SIP-C/2.0" => Some(Self::V2),
            b"SIP-C/4.0" => Some(Self::V4),
            _ => None,
        }
    }
}

/// A start line checked for structure, with its text as byte ranges (validated as UTF-8
/// later, together with the header block, in one pass).
#[derive(Clone, Copy)]
enum StartSpans {
    Request {
        method: usize,
        target: (usize, usize),
        version: Version,
    },
    Response {
        version: Version,
        status: u16,
        reason: (usize, usize),
    },
}

impl StartSpans {
    fn build(self, text: &str) -> StartLine<'_> {
        let span = |(a, b): (usize, usize)| Cow::Borrowed(text.get(a..b).unwrap_or_default());
        match self {
            Self::Request {
                method,
                target: (target_start, target_end),
                version,
            } => {
                // The method, then the target after its SP: two char-boundary tests, where
                // slicing each on its own tested three.
                let (method, rest) = text.split_at_checked(method).unwrap_or_default();
                let target = rest
                    .strip_prefix(' ')
                    .and_then(|rest| rest.get(..target_end - target_start))
                    .unwrap_or_default();
                StartLine::Request {
                    method: Method(Cow::Borrowed(method)),
                    target: Cow::Borrowed(target),
                    version,
                }
            }
            Self::Response {
                version,
                status,
                reason,
            } => StartLine::Response {
                version,
                status,
                reason: span(reason),
            },
        }
    }
}

/// The length of either version token (`SIP-C/2.0`, `SIP-C/4.0`).
const VERSION_LEN: usize = Version::V2.as_str().len();

#[inline(always)] // into both of `read`'s copies: called, it cost about 60 instructions more
fn parse_start_line(buf: &[u8], end: usize) -> Result<StartSpans, Error> {
    let line = buf.get(..end).unwrap_or_default();
    if line.starts_with(b"SIP-C/") {
        // status-line = version SP 3DIGIT SP reason
        let version_end =
            memchr::memchr(b' ', line).ok_or(Error::new(ErrorKind::BadStartLine, end))?;
        let version = Version::from_bytes(&line[..version_end])
            .ok_or(Error::new(ErrorKind::BadVersion, 0))?;
        let code_start = version_end + 1;
        let code = line
            .get(code_start..code_start + 3)
            .filter(|c| c.iter().all(u8::is_ascii_digit));
        let Some(code) = code else {
            return Err(Error::new(ErrorKind::BadStatus, code_start));
        };
        let status = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
        match line.get(code_start + 3) {
            Some(b' ') => {}
            Some(_) => return Err(Error::new(ErrorKind::BadStatus, code_start + 3)),
            None => return Err(Error::new(ErrorKind::BadStartLine, end)),
        }
        return Ok(StartSpans::Response {
            version,
            status,
            reason: (code_start + 4, end),
        });
    }
    // request-line = method SP target SP version. Each part is read up to the byte that
    // ends it (no split of the line into tokens first: that tested every byte for SP, then
    // again for its class); the errors and offsets are those of a split at each SP.
    let mut method_end = 0;
    while line.get(method_end).is_some_and(|&b| scan::is_token(b)) {
        method_end += 1;
    }
    match line.get(method_end) {
        _ if method_end == 0 => return Err(Error::new(ErrorKind::BadMethod, 0)),
        Some(b' ') => {}
        Some(_) => return Err(Error::new(ErrorKind::BadMethod, method_end)),
        None => return Err(Error::new(ErrorKind::BadStartLine, end)),
    }
    let target_start = method_end + 1;
    let mut target_end = target_start;
    while line.get(target_end).is_some_and(u8::is_ascii_graphic) {
        target_end += 1;
    }
    match line.get(target_end) {
        None | Some(b' ') if target_end == target_start => {
            return Err(Error::new(ErrorKind::BadStartLine, target_start));
        }
        Some(b' ') => {}
        Some(_) => return Err(Error::new(ErrorKind::BadTarget, target_end)),
        None => return Err(Error::new(ErrorKind::BadStartLine, end)),
    }
    let version_start = target_end + 1;
    let rest = line.get(version_start..).unwrap_or_default();
    // The version token runs to the next SP or the end of the line.
    let version = rest
        .get(..VERSION_LEN)
        .and_then(Version::from_bytes)
        .filter(|_| matches!(rest.get(VERSION_LEN), None | Some(b' ')))
        .ok_or(Error::new(ErrorKind::BadVersion, version_start))?;
    if rest.len() > VERSION_LEN {
        return Err(Error::new(
            ErrorKind::BadStartLine,
            version_start + VERSION_LEN,
        ));
    }
    Ok(StartSpans::Request {
        method: method_end,
        target: (target_start, target_end),
        version,
    })
}

/// The body length from `L:`: 0 without one; a second `L:` is an error because the two
/// could disagree about where the next message starts.
///
/// `spans` noted the `L` lines as the scan went (see `Spans::keyed`): the index of the first
/// and where the second one's name starts. Comparing every built header's name with `"L"`
/// instead cost about 116 instructions on seed 004's `M` (callgrind).
fn body_length(buf: &[u8], spans: &Spans, limits: &Limits) -> Result<usize, Error> {
    let (first, second) = spans.keyed();
    let Some((at, value)) = first.and_then(|i| spans.value_bytes(buf, i)) else {
        return Ok(0);
    };
    if let Some(second) = second {
        return Err(Error::new(ErrorKind::DuplicateHeader, second));
    }
    let len = scan::decimal(value, 20).ok_or(Error::new(ErrorKind::BadLength, at))?;
    match usize::try_from(len) {
        Ok(len) if len <= limits.max_body => Ok(len),
        _ => Err(Error::new(ErrorKind::LimitExceeded, at)),
    }
}

fn push_status(out: &mut Vec<u8>, status: u16) {
    let s = status.min(999);
    out.extend_from_slice(&[
        b'0' + (s / 100) as u8,
        b'0' + (s / 10 % 10) as u8,
        b'0' + (s % 10) as u8,
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const START_CHAT: &[u8] =
        b"S fetion.com.cn SIP-C/2.0\r\nF: 815389316\r\nI: 19\r\nQ: 1 S\r\nN: StartChat\r\n\r\n";

    fn ok(buf: &[u8]) -> (Message<'_>, usize) {
        match parse(buf) {
            Ok(Status::Complete(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    macro_rules! reject {
        ($name:ident, $input:expr, $kind:ident, $offset:expr) => {
            #[test]
            fn $name() {
                assert_eq!(
                    parse($input).map(|s| s.is_complete()),
                    Err(Error::new(ErrorKind::$kind, $offset))
                );
            }
        };
    }

    #[test]
    fn sipc_request_round_trips() {
        let (msg, n) = ok(START_CHAT);
        assert_eq!(n, START_CHAT.len());
        assert_eq!(msg.method(), Some(&Method::SERVICE));
        assert_eq!(msg.header("n"), Some("StartChat"));
        assert!(msg.body.is_empty());
        assert_eq!(msg.to_bytes(), START_CHAT);
        assert_eq!(msg.encoded_len(), START_CHAT.len());
    }

    #[test]
    fn sipc_response_with_body_and_trailing_bytes() {
        let wire = b"SIP-C/4.0 200 OK\r\nI: 2\r\nL: 3\r\n\r\nabcS x";
        let (msg, n) = ok(wire);
        assert_eq!(n, wire.len() - 3);
        assert_eq!(msg.status(), Some(200));
        assert_eq!(msg.version(), Version::V4);
        assert_eq!(&*msg.body, b"abc");
    }

    #[test]
    fn sipc_every_proper_prefix_is_incomplete() {
        let wire = b"M 1 SIP-C/2.0\r\nL: 4\r\n\r\nabcd";
        for i in 0..wire.len() {
            assert!(
                matches!(parse(&wire[..i]), Ok(Status::Incomplete(_))),
                "prefix {i}"
            );
        }
        assert_eq!(
            parse(&wire[..wire.len() - 1]),
            Ok(Status::Incomplete(Needed::bytes(1)))
        );
    }

    #[test]
    fn sipc_unknown_method_and_empty_reason_are_kept() {
        let (msg, _) = ok(b"XYZ 1 SIP-C/2.0\r\n\r\n");
        assert_eq!(msg.method().map(Method::as_str), Some("XYZ"));
        let (msg, _) = ok(b"SIP-C/2.0 486 \r\n\r\n");
        assert_eq!(msg.status(), Some(486));
    }

    #[test]
    fn sipc_huge_length_fails_before_allocating() {
        let e = parse(b"M 1 SIP-C/2.0\r\nL: 999999999999\r\n\r\n").unwrap_err();
        assert_eq!(e, Error::new(ErrorKind::LimitExceeded, 18));
    }

    #[test]
    fn sipc_head_limit_bounds_unterminated_input() {
        let limits = Limits {
            max_head: 32,
            ..Limits::default()
        };
        let mut buf = b"M 1 SIP-C/2.0\r\n".to_vec();
        buf.extend(std::iter::repeat_n(b'F', 40));
        assert_eq!(
            parse_with(&buf, &limits).unwrap_err(),
            Error::new(ErrorKind::LimitExceeded, 32)
        );
    }

    #[test]
    fn sipc_typed_accessors_read_the_seed_invite() {
        let wire = b"I 818332893 SIP-C/2.0\r\nF: sip:815389316@fetion.com.cn;p=72\r\nA: CS address=\"221.176.31.108:8080;221.176.31.108:443\",credential=\"1279087023.1008491823\"\r\nI: -12\r\nXI: 0bb0982aafb546a8af92e8d66fbe962c\r\nQ: 200002 I\r\n\r\n";
        let (msg, _) = ok(wire);
        assert_eq!(msg.call_id(), Some(Ok(header::CallId(-12))));
        let cseq = msg.cseq().unwrap().unwrap();
        assert_eq!((cseq.number, cseq.method.as_str()), (200_002, "I"));
        match msg.auth().unwrap().unwrap() {
            header::Auth::Cs {
                addresses,
                credential,
            } => {
                assert_eq!(
                    (addresses.len(), credential.as_ref()),
                    (2, "1279087023.1008491823")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(msg.message_id().unwrap().is_ok());
        assert!(msg.from().unwrap().is_ok());
        assert!(msg.date().is_none());
    }

    #[test]
    fn sipc_set_body_keeps_length() {
        let msg = Message::request(Method::MESSAGE, "fetion.com.cn", Version::V2)
            .with_header("I", "3")
            .with_body(&b"\xe5\xae\x8b"[..]);
        assert_eq!(msg.header("L"), Some("3"));
        let bytes = msg.to_bytes();
        assert_eq!(ok(&bytes).0, msg);
    }

    reject!(sipc_bad_version, b"R x SIP-C/3.0\r\n\r\n", BadVersion, 4);
    reject!(
        sipc_bad_status_version,
        b"SIP-C/3.0 200 OK\r\n\r\n",
        BadVersion,
        0
    );
    reject!(sipc_bad_status, b"SIP-C/2.0 20 OK\r\n\r\n", BadStatus, 10);
    reject!(
        sipc_status_without_reason,
        b"SIP-C/2.0 200\r\n\r\n",
        BadStartLine,
        13
    );
    reject!(sipc_missing_target, b"R\r\n\r\n", BadStartLine, 1);
    reject!(
        sipc_extra_token,
        b"R a SIP-C/2.0 x\r\n\r\n",
        BadStartLine,
        13
    );
    reject!(sipc_bad_method, b"R\x01 a SIP-C/2.0\r\n\r\n", BadMethod, 1);
    // The request line's parts are read byte by byte up to their SP; each error is where a
    // split of the line at every SP puts it.
    reject!(sipc_leading_space, b" R a SIP-C/2.0\r\n\r\n", BadMethod, 0);
    reject!(sipc_empty_target_at_end, b"R \r\n\r\n", BadStartLine, 2);
    reject!(sipc_empty_target, b"R  SIP-C/2.0\r\n\r\n", BadStartLine, 2);
    reject!(sipc_bad_target, b"R a\tb SIP-C/2.0\r\n\r\n", BadTarget, 3);
    reject!(sipc_target_at_end, b"R a\r\n\r\n", BadStartLine, 3);
    reject!(sipc_empty_version, b"R a \r\n\r\n", BadVersion, 4);
    reject!(sipc_long_version, b"R a SIP-C/2.0x\r\n\r\n", BadVersion, 4);
    reject!(
        sipc_space_after_version,
        b"R a SIP-C/2.0 \r\n\r\n",
        BadStartLine,
        13
    );
    reject!(
        sipc_bad_length,
        b"M 1 SIP-C/2.0\r\nL: 1x\r\n\r\n",
        BadLength,
        18
    );
    reject!(
        sipc_negative_length,
        b"M 1 SIP-C/2.0\r\nL: -1\r\n\r\n",
        BadLength,
        18
    );
    reject!(
        sipc_duplicate_length,
        b"M 1 SIP-C/2.0\r\nL: 1\r\nL: 1\r\n\r\nab",
        DuplicateHeader,
        21
    );
    reject!(
        sipc_header_without_colon,
        b"M 1 SIP-C/2.0\r\nF 1\r\n\r\n",
        BadHeader,
        16
    );
    reject!(
        sipc_bare_lf,
        b"M 1 SIP-C/2.0\nF: 1\r\n\r\n",
        BadLineEnding,
        13
    );
    reject!(
        sipc_bare_cr,
        b"M 1 SIP-C/2.0\r\nF: 1\rX\r\n\r\n",
        BadLineEnding,
        19
    );
}
