//! SIP requests and responses over a stream transport (RFC 3261): framing by
//! `Content-Length`, compact header names, list headers, typed values ([`header`]) and the
//! `application/simple-message-summary` body of RFC 3842 ([`message_summary`]), SIP URIs
//! ([`uri`]) and SDP bodies ([`sdp`]).
//!
//! ```text
//! message        = start-line *( message-header ) CRLF [ message-body ]
//! start-line     = Request-Line / Status-Line
//! Request-Line   = Method SP Request-URI SP SIP-Version CRLF
//! Status-Line    = SIP-Version SP Status-Code SP Reason-Phrase CRLF
//! SIP-Version    = "SIP/2.0"
//! Method         = token                  ; INVITE, MESSAGE, SUBSCRIBE, … or an extension
//! Status-Code    = 3DIGIT
//! message-header = field-name HCOLON field-value CRLF
//! HCOLON         = *( SP / HTAB ) ":" SWS
//! Content-Length = ( "Content-Length" / "l" ) HCOLON 1*DIGIT
//! ```
//!
//! The boundary of a message is the blank line plus the `Content-Length` count: on a stream
//! the header MUST be present (RFC 3261 §18.3) and a reader never searches the body. Header
//! names compare ignoring case, and a compact form is the same header as its long form
//! (§7.3.3: `i` is `Call-ID`, `l` is `Content-Length`, …); [`Message::header`] and the typed
//! accessors look under both, while [`Message::headers`] keeps every line as written.
//!
//! Deviations from RFC 3261, each a choice of what the default [`Limits`] call canonical:
//!
//! * Header lines: the default decoder accepts the form §7.3.1 says implementations SHOULD
//!   use, `Name: value` (more white space after the space is allowed). The other `HCOLON`
//!   forms and folded lines are valid SIP but opt-in (`allow_no_space`,
//!   `allow_space_before_colon`, `allow_folding`): a reader of other implementations (the
//!   runner, the reference server) switches them on. In every form the white space around
//!   the colon and after the value is not part of the value ([`Header::value`](crate::header::Header)),
//!   and is written back as read (a folded value is written on one line);
//!   [`Header::is_canonical`](crate::header::Header::is_canonical) tells the preferred form.
//! * A message without `Content-Length` is an error ([`ErrorKind::Missing`]); with
//!   `allow_missing_length` it has no body (a datagram's "body runs to the end" has no
//!   meaning on a stream).
//! * CRLFs before a start line (RFC 3261 §7.5, and RFC 5626's CRLFCRLF/CRLF keep-alives) are
//!   not skipped silently, because a frame must re-encode to its bytes: take them off with
//!   [`keepalive`] first, or let `allow_leading_crlf` skip them (they are then not re-encoded).
//! * `SIP-Version` must be exactly `SIP/2.0` (the grammar compares `SIP` ignoring case).
//! * The Request-URI is checked as `scheme ":" 1*visible-ASCII` only; header values are kept
//!   raw and checked only by the typed accessors.
//! * Bare-LF line endings are opt-in (`allow_bare_lf`), for captures pasted from logs.

use std::borrow::Cow;

use crate::header::{BlockLimits, Forms, Headers};
use crate::{Error, ErrorKind, Needed, Status, scan};

mod codec;
pub mod header;
pub mod message_summary;
pub mod sdp;
pub mod uri;

pub use uri::Uri;

pub use codec::Sip;

/// One SIP message: a request or a response.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Message<'a> {
    /// The request or status line.
    #[serde(flatten)]
    pub start: StartLine<'a>,
    /// Header lines in wire order, repeats and compact names included.
    pub headers: Headers<'a>,
    /// Exactly `Content-Length` bytes.
    #[serde(serialize_with = "crate::ser::bytes")]
    pub body: Cow<'a, [u8]>,
}

/// The first line of a message (its version is always `SIP/2.0`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP/2.0`.
    Request {
        /// The method token as written.
        method: Method<'a>,
        /// The Request-URI as written (`sip:bob@127.0.0.1:5080;transport=TCP`).
        uri: Cow<'a, str>,
    },
    /// `SIP/2.0 SP Status-Code SP Reason-Phrase`.
    Response {
        /// Three-digit status code.
        status: u16,
        /// The reason phrase as written, possibly empty.
        reason: Cow<'a, str>,
    },
}

/// A request method token (`MESSAGE`, `REGISTER`, …). Methods are case-sensitive; unknown
/// tokens are kept as such.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Method<'a>(Cow<'a, str>);

/// Bounds and opt-in leniencies for [`parse_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in the start line and header block together, blank line included.
    pub max_head: usize,
    /// Most header lines (a folded header counts once).
    pub max_headers: usize,
    /// Largest `Content-Length` accepted.
    pub max_body: usize,
    /// Accept lines ending in a bare LF.
    pub allow_bare_lf: bool,
    /// Accept `Name:value` with no space after the colon (or a tab instead of it).
    pub allow_no_space: bool,
    /// Accept white space between a header name and its colon.
    pub allow_space_before_colon: bool,
    /// Accept header values folded over several lines.
    pub allow_folding: bool,
    /// Read a message without `Content-Length` as having no body.
    pub allow_missing_length: bool,
    /// Skip CRLFs before the start line (counted as consumed, not re-encoded).
    pub allow_leading_crlf: bool,
}

/// The SIP version token, the only one there is.
pub const VERSION: &str = "SIP/2.0";

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 1024 * 1024,
            allow_bare_lf: false,
            allow_no_space: false,
            allow_space_before_colon: false,
            allow_folding: false,
            allow_missing_length: false,
            allow_leading_crlf: false,
        }
    }
}

impl Limits {
    /// The defaults with every leniency switched on.
    pub fn lenient() -> Self {
        Self {
            allow_bare_lf: true,
            allow_no_space: true,
            allow_space_before_colon: true,
            allow_folding: true,
            allow_missing_length: true,
            allow_leading_crlf: true,
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
    let skip = if limits.allow_leading_crlf {
        leading_line_breaks(buf, limits.allow_bare_lf)
    } else {
        0
    };
    let Some(rest) = buf.get(skip..) else {
        return Ok(Status::Incomplete(Needed::Unknown));
    };
    if skip > limits.max_head {
        return Err(Error::new(ErrorKind::LimitExceeded, limits.max_head));
    }
    if rest.is_empty() || (skip > 0 && rest == b"\r") {
        return Ok(Status::Incomplete(Needed::Unknown));
    }
    match parse_message(rest, limits) {
        Ok(Status::Complete((msg, n))) => Ok(Status::Complete((msg, skip + n))),
        Ok(Status::Incomplete(n)) => Ok(Status::Incomplete(n)),
        Err(e) => Err(e.shifted(skip)),
    }
}

/// How many bytes of CRLF (keep-alive or padding before a start line) `buf` starts with,
/// counting whole CRLFs only. A stream reader drops them before calling [`parse`]; RFC 5626
/// reads CRLFCRLF as a ping and a single CRLF as its pong.
pub fn keepalive(buf: &[u8]) -> usize {
    leading_line_breaks(buf, false)
}

impl<'a> Message<'a> {
    /// A request with no headers and no body.
    pub fn request(method: impl Into<Method<'a>>, uri: impl Into<Cow<'a, str>>) -> Self {
        Self {
            start: StartLine::Request {
                method: method.into(),
                uri: uri.into(),
            },
            headers: Headers::new(),
            body: Cow::Borrowed(b""),
        }
    }

    /// A response with no headers and no body.
    pub fn response(status: u16, reason: impl Into<Cow<'a, str>>) -> Self {
        Self {
            start: StartLine::Response {
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

    /// Sets the body and keeps `Content-Length` (or its compact `l`) equal to its length:
    /// replaced in place if present, appended as `Content-Length` if not. Unlike SIP-C, an
    /// empty body keeps `Content-Length: 0`, which a stream transport requires.
    pub fn set_body(&mut self, body: impl Into<Cow<'a, [u8]>>) {
        self.body = body.into();
        let len = self.body.len().to_string();
        match self
            .headers
            .0
            .iter_mut()
            .find(|h| header::same_name(&h.name, "Content-Length"))
        {
            Some(h) => h.value = Cow::Owned(len),
            None => self.headers.push("Content-Length", len),
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

    /// The Request-URI, for requests.
    pub fn uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI as a [`Uri`] (`sip:`/`sips:` only), for requests; errors are offsets
    /// into the URI.
    pub fn request_uri(&self, limits: &uri::Limits) -> Option<Result<Uri<'_>, Error>> {
        self.uri().map(|u| Uri::parse_with(u, limits))
    }

    /// The status code, for responses.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// The first value of header `name`, found under its long or its compact name, ignoring
    /// case (`header("Call-ID")` also finds `i:`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).next()
    }

    /// Every value of header `name` (long or compact, ignoring case), in wire order.
    pub fn header_all<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'n, 'a> {
        self.headers
            .iter()
            .filter(move |h| header::same_name(&h.name, name))
            .map(|h| h.value.as_ref())
    }

    /// The elements of list header `name` (`Via`, `Contact`, `Route`, `Allow`, `Supported`,
    /// …) across all its lines, split at commas outside quotes and angle brackets (RFC 3261
    /// §7.3.1). Not for headers whose values hold commas of their own (`Date`,
    /// `WWW-Authenticate`, `Authorization`). Error offsets are relative to the line's value.
    pub fn list(&self, name: &str) -> Result<Vec<&str>, Error> {
        let mut out = Vec::new();
        for value in self.header_all(name) {
            out.extend(header::split_list(value)?);
        }
        Ok(out)
    }

    /// `Call-ID` (`i`), as written.
    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// `CSeq`, typed.
    pub fn cseq(&self) -> Option<Result<header::CSeq<'_>, Error>> {
        self.header("CSeq").map(header::CSeq::parse)
    }

    /// `From` (`f`), typed.
    pub fn from(&self) -> Option<Result<header::NameAddr<'_>, Error>> {
        self.header("From").map(header::NameAddr::parse)
    }

    /// `To` (`t`), typed.
    pub fn to(&self) -> Option<Result<header::NameAddr<'_>, Error>> {
        self.header("To").map(header::NameAddr::parse)
    }

    /// Every `Via` (`v`) element across all lines, top first, typed.
    pub fn vias(&self) -> Result<Vec<header::Via<'_>>, Error> {
        self.list("Via")?
            .into_iter()
            .map(header::Via::parse)
            .collect()
    }

    /// Every `Contact` (`m`) element, typed (`Contact: *` is an error here; see
    /// [`header`](Self::header)).
    pub fn contacts(&self) -> Result<Vec<header::NameAddr<'_>>, Error> {
        self.list("Contact")?
            .into_iter()
            .map(header::NameAddr::parse)
            .collect()
    }

    /// `Content-Length` (`l`), typed.
    pub fn content_length(&self) -> Option<Result<u64, Error>> {
        self.header("Content-Length").map(header::content_length)
    }

    /// `Content-Type` (`c`), typed.
    pub fn content_type(&self) -> Option<Result<header::ContentType<'_>, Error>> {
        self.header("Content-Type").map(header::ContentType::parse)
    }

    /// `Event` (`o`), typed: `message-summary`, `presence`, … with parameters.
    pub fn event(&self) -> Option<Result<header::Value<'_>, Error>> {
        self.header("Event").map(header::Value::parse)
    }

    /// `Subscription-State`, typed: `active;expires=3600`, `terminated;reason=timeout`.
    pub fn subscription_state(&self) -> Option<Result<header::Value<'_>, Error>> {
        self.header("Subscription-State").map(header::Value::parse)
    }

    /// `Expires` in seconds.
    pub fn expires(&self) -> Option<Result<u32, Error>> {
        self.header("Expires").map(header::delta_seconds)
    }

    /// `Date` (RFC 3261 §20.17, an RFC 1123 date) in Unix seconds; errors are offsets into
    /// the value.
    pub fn date(&self) -> Option<Result<u64, Error>> {
        self.header("Date").map(crate::date::parse_rfc1123)
    }

    /// The body as an SDP session description (RFC 8866), for `application/sdp`. Offsets
    /// are relative to the body.
    pub fn sdp(&self, limits: &sdp::Limits) -> Result<sdp::SessionDescription<'_>, Error> {
        sdp::SessionDescription::parse_with(&self.body, limits)
    }

    /// The body as an RFC 3842 message summary (for `application/simple-message-summary`).
    /// Offsets are relative to the body.
    pub fn message_summary(&self) -> Result<message_summary::MessageSummary<'_>, Error> {
        message_summary::parse(&self.body)
    }

    /// The body as UTF-8 text, if it is.
    pub fn body_text(&self) -> Option<&str> {
        core::str::from_utf8(&self.body).ok()
    }

    /// Writes the message in wire form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        match &self.start {
            StartLine::Request { method, uri } => {
                out.extend_from_slice(method.as_str().as_bytes());
                out.push(b' ');
                out.extend_from_slice(uri.as_bytes());
                out.push(b' ');
                out.extend_from_slice(VERSION.as_bytes());
            }
            StartLine::Response { status, reason } => {
                out.extend_from_slice(VERSION.as_bytes());
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
            StartLine::Request { method, uri } => {
                method.as_str().len() + 1 + uri.len() + 1 + VERSION.len()
            }
            StartLine::Response { reason, .. } => VERSION.len() + 1 + 3 + 1 + reason.len(),
        };
        start + 2 + self.headers.encoded_len() + 2 + self.body.len()
    }

    /// The same message owning its data.
    pub fn into_owned(self) -> Message<'static> {
        let start = match self.start {
            StartLine::Request { method, uri } => StartLine::Request {
                method: method.into_owned(),
                uri: Cow::Owned(uri.into_owned()),
            },
            StartLine::Response { status, reason } => StartLine::Response {
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
    /// `ACK` (RFC 3261).
    pub const ACK: Method<'static> = Method(Cow::Borrowed("ACK"));
    /// `BYE` (RFC 3261).
    pub const BYE: Method<'static> = Method(Cow::Borrowed("BYE"));
    /// `CANCEL` (RFC 3261).
    pub const CANCEL: Method<'static> = Method(Cow::Borrowed("CANCEL"));
    /// `INFO` (RFC 6086).
    pub const INFO: Method<'static> = Method(Cow::Borrowed("INFO"));
    /// `INVITE` (RFC 3261).
    pub const INVITE: Method<'static> = Method(Cow::Borrowed("INVITE"));
    /// `MESSAGE` (RFC 3428), the page-mode instant message msilo stores.
    pub const MESSAGE: Method<'static> = Method(Cow::Borrowed("MESSAGE"));
    /// `NOTIFY` (RFC 6665).
    pub const NOTIFY: Method<'static> = Method(Cow::Borrowed("NOTIFY"));
    /// `OPTIONS` (RFC 3261).
    pub const OPTIONS: Method<'static> = Method(Cow::Borrowed("OPTIONS"));
    /// `PUBLISH` (RFC 3903).
    pub const PUBLISH: Method<'static> = Method(Cow::Borrowed("PUBLISH"));
    /// `REFER` (RFC 3515).
    pub const REFER: Method<'static> = Method(Cow::Borrowed("REFER"));
    /// `REGISTER` (RFC 3261).
    pub const REGISTER: Method<'static> = Method(Cow::Borrowed("REGISTER"));
    /// `SUBSCRIBE` (RFC 6665).
    pub const SUBSCRIBE: Method<'static> = Method(Cow::Borrowed("SUBSCRIBE"));

    /// A method from its token. `None` when the token is empty or has a byte outside the
    /// RFC 3261 token set.
    pub fn new(token: impl Into<Cow<'a, str>>) -> Option<Self> {
        let token = token.into();
        (!token.is_empty() && token.bytes().all(is_token)).then_some(Self(token))
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

/// Decodes a message that starts at `buf[0]`.
fn parse_message<'a>(buf: &'a [u8], limits: &Limits) -> crate::Result<(Message<'a>, usize)> {
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
    let forms = Forms {
        allow_space_before_colon: limits.allow_space_before_colon,
        allow_folding: limits.allow_folding,
        end_line: None,
    };
    let mut spans = crate::header::Spans::default();
    let (blank, head_end) =
        match crate::header::scan_block_with(head, line.next, &block, &forms, &mut spans)
            .map_err(first)?
        {
            Status::Complete(v) => v,
            Status::Incomplete(n) => return head_limit(Status::Incomplete(n)),
        };
    if head_end > limits.max_head {
        return Err(Error::new(ErrorKind::LimitExceeded, limits.max_head));
    }
    // One UTF-8 validation for the start line and every header.
    let text = scan::utf8(buf, 0, blank)?;
    let headers = crate::header::build(text, 0, &spans);
    check_names(buf, &headers)?;
    let body_len = body_length(buf, &headers, blank, limits)?;
    let end = head_end.saturating_add(body_len);
    let Some(body) = buf.get(head_end..end) else {
        return Ok(Status::Incomplete(Needed::bytes(end - buf.len())));
    };
    Ok(Status::Complete((
        Message {
            start: start.build(text),
            headers,
            body: Cow::Borrowed(body),
        },
        end,
    )))
}

/// The length of the CRLFs (or, leniently, LFs) `buf` starts with.
fn leading_line_breaks(buf: &[u8], allow_bare_lf: bool) -> usize {
    let mut at = 0;
    loop {
        match (buf.get(at), buf.get(at + 1)) {
            (Some(b'\r'), Some(b'\n')) => at += 2,
            (Some(b'\n'), _) if allow_bare_lf => at += 1,
            _ => return at,
        }
    }
}

/// A start line checked for structure, with its text as byte ranges (validated as UTF-8
/// later, together with the header block, in one pass).
enum StartSpans {
    Request { method: usize, uri: (usize, usize) },
    Response { status: u16, reason: (usize, usize) },
}

impl StartSpans {
    fn build(self, text: &str) -> StartLine<'_> {
        let span = |(a, b): (usize, usize)| Cow::Borrowed(text.get(a..b).unwrap_or_default());
        match self {
            Self::Request { method, uri } => StartLine::Request {
                method: Method(span((0, method))),
                uri: span(uri),
            },
            Self::Response { status, reason } => StartLine::Response {
                status,
                reason: span(reason),
            },
        }
    }
}

/// ```text
/// Request-Line = Method SP Request-URI SP SIP-Version
/// Status-Line  = SIP-Version SP Status-Code SP Reason-Phrase
/// Reason-Phrase = *( reserved / unreserved / escaped / UTF8-NONASCII / UTF8-CONT / SP / HTAB )
/// ```
fn parse_start_line(buf: &[u8], end: usize) -> Result<StartSpans, Error> {
    let line = buf.get(..end).unwrap_or_default();
    if line.is_empty() {
        // A CRLF before the start line: a keep-alive, or padding (see `keepalive`).
        return Err(Error::new(ErrorKind::BadStartLine, 0));
    }
    if line.starts_with(b"SIP/") {
        let version_end =
            memchr::memchr(b' ', line).ok_or(Error::new(ErrorKind::BadStartLine, end))?;
        if line.get(..version_end) != Some(VERSION.as_bytes()) {
            return Err(Error::new(ErrorKind::BadVersion, 0));
        }
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
        let reason = code_start + 4;
        if let Some(bad) = line
            .get(reason..)
            .unwrap_or_default()
            .iter()
            .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(Error::new(ErrorKind::BadStartLine, reason + bad));
        }
        return Ok(StartSpans::Response {
            status,
            reason: (reason, end),
        });
    }
    let mut tokens = line.split(|&b| b == b' ');
    let method = tokens.next().unwrap_or_default();
    if let Some(bad) = method.iter().position(|&b| !is_token(b)) {
        return Err(Error::new(ErrorKind::BadMethod, bad));
    }
    let uri_start = method.len() + 1;
    let Some(uri) = tokens.next().filter(|t| !t.is_empty()) else {
        return Err(Error::new(ErrorKind::BadStartLine, uri_start.min(end)));
    };
    check_uri(uri).map_err(|at| Error::new(ErrorKind::BadTarget, uri_start + at))?;
    let version_start = uri_start + uri.len() + 1;
    let Some(version) = tokens.next() else {
        return Err(Error::new(ErrorKind::BadStartLine, end));
    };
    if version != VERSION.as_bytes() {
        return Err(Error::new(ErrorKind::BadVersion, version_start));
    }
    if tokens.next().is_some() {
        return Err(Error::new(
            ErrorKind::BadStartLine,
            version_start + VERSION.len(),
        ));
    }
    Ok(StartSpans::Request {
        method: method.len(),
        uri: (uri_start, uri_start + uri.len()),
    })
}

/// `scheme ":" 1*visible-ASCII`, scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). The
/// error is the offset of the first offending byte.
fn check_uri(uri: &[u8]) -> Result<(), usize> {
    if !uri.first().is_some_and(u8::is_ascii_alphabetic) {
        return Err(0);
    }
    let scheme_end = uri
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
        .unwrap_or(uri.len());
    if uri.get(scheme_end) != Some(&b':') {
        return Err(scheme_end);
    }
    match uri.iter().position(|b| !b.is_ascii_graphic()) {
        Some(bad) => Err(bad),
        None if uri.len() == scheme_end + 1 => Err(uri.len()),
        None => Ok(()),
    }
}

/// Header names are RFC 3261 tokens, a narrower set than the shared block accepts.
fn check_names(buf: &[u8], headers: &Headers<'_>) -> Result<(), Error> {
    for h in headers.iter() {
        if let Some(bad) = h.name.bytes().position(|b| !is_token(b)) {
            return Err(Error::new(
                ErrorKind::BadHeader,
                scan::offset_in(buf, &h.name) + bad,
            ));
        }
    }
    Ok(())
}

/// The body length from `Content-Length` or `l`: required unless `allow_missing_length`;
/// a second one is an error because the two could disagree about where the next message
/// starts.
fn body_length(
    buf: &[u8],
    headers: &Headers<'_>,
    blank: usize,
    limits: &Limits,
) -> Result<usize, Error> {
    let mut lengths = headers
        .iter()
        .filter(|h| header::same_name(&h.name, "Content-Length"));
    let Some(first) = lengths.next() else {
        return if limits.allow_missing_length {
            Ok(0)
        } else {
            Err(Error::new(ErrorKind::Missing, blank))
        };
    };
    if let Some(second) = lengths.next() {
        return Err(Error::new(
            ErrorKind::DuplicateHeader,
            scan::offset_in(buf, &second.name),
        ));
    }
    let at = scan::offset_in(buf, &first.value);
    let len = header::content_length(&first.value).map_err(|e| e.shifted(at))?;
    match usize::try_from(len) {
        Ok(len) if len <= limits.max_body => Ok(len),
        _ => Err(Error::new(
            ErrorKind::LimitExceeded,
            at + first.value.len() - first.value.trim_start_matches([' ', '\t']).len(),
        )),
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

/// Whether `b` is an RFC 3261 token byte:
/// `alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"`.
pub(crate) const fn is_token(b: u8) -> bool {
    TOKEN[b as usize]
}

const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A MESSAGE as SIPp sent it to Kamailio over TCP (docs/protocols/peers.md §2.2, re-captured).
    const MESSAGE: &[u8] = b"MESSAGE sip:bob@127.0.0.1:15080 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:15071;branch=z9hG4bK-9820-1-0\r\nMax-Forwards: 70\r\nFrom: \"alice\" <sip:alice@127.0.0.1:15080>;tag=9820SIPpTag001\r\nTo: <sip:bob@127.0.0.1:15080>\r\nCall-ID: 1-9820@127.0.0.1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length:    42\r\n\r\nhello bob, stored while you were offline\r\n";

    fn ok(buf: &[u8]) -> (Message<'_>, usize) {
        match parse(buf) {
            Ok(Status::Complete(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    fn lenient(buf: &[u8]) -> (Message<'_>, usize) {
        match parse_with(buf, &Limits::lenient()) {
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
    fn sip_message_round_trips() {
        let (msg, n) = ok(MESSAGE);
        assert_eq!(n, MESSAGE.len());
        assert_eq!(msg.method(), Some(&Method::MESSAGE));
        assert_eq!(msg.uri(), Some("sip:bob@127.0.0.1:15080"));
        assert_eq!(
            msg.body_text(),
            Some("hello bob, stored while you were offline\r\n")
        );
        assert_eq!(msg.content_length(), Some(Ok(42)));
        assert_eq!(msg.to_bytes(), MESSAGE);
        assert_eq!(msg.encoded_len(), MESSAGE.len());
        let cseq = msg.cseq().unwrap().unwrap();
        assert_eq!((cseq.number, cseq.method.as_str()), (1, "MESSAGE"));
        assert_eq!(msg.from().unwrap().unwrap().tag(), Some("9820SIPpTag001"));
        assert_eq!(msg.vias().unwrap()[0].branch(), Some("z9hG4bK-9820-1-0"));
    }

    #[test]
    fn sip_every_proper_prefix_is_incomplete() {
        for i in 0..MESSAGE.len() {
            assert!(
                matches!(parse(&MESSAGE[..i]), Ok(Status::Incomplete(_))),
                "prefix {i}"
            );
        }
        assert_eq!(
            parse(&MESSAGE[..MESSAGE.len() - 2]),
            Ok(Status::Incomplete(Needed::bytes(2)))
        );
    }

    #[test]
    fn sip_compact_names_are_the_long_ones() {
        let wire = b"SIP/2.0 200 OK\r\nv: SIP/2.0/TCP a;branch=z9hG4bK1, SIP/2.0/UDP b:5060;branch=z9hG4bK2\r\nV: SIP/2.0/TCP c\r\ni: abc\r\nf: <sip:a@b>;tag=1\r\nt: sip:b@c\r\nL: 0\r\n\r\n";
        let (msg, _) = ok(wire);
        assert_eq!(msg.call_id(), Some("abc"));
        assert_eq!(msg.header("CALL-id"), Some("abc"));
        assert_eq!(msg.content_length(), Some(Ok(0)));
        let vias = msg.vias().unwrap();
        assert_eq!(
            vias.iter().map(|v| v.host.as_ref()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(vias[1].port, Some(5060));
        assert_eq!(msg.to().unwrap().unwrap().uri, "sip:b@c");
        assert_eq!(msg.to_bytes(), wire);
    }

    #[test]
    fn sip_response_with_trailing_bytes() {
        let wire = b"SIP/2.0 202 Accepted\r\nContent-Length: 3\r\n\r\nabcSIP/2.0";
        let (msg, n) = ok(wire);
        assert_eq!(n, wire.len() - 7);
        assert_eq!(msg.status(), Some(202));
        assert_eq!(&*msg.body, b"abc");
    }

    #[test]
    fn sip_keepalives_are_not_frames() {
        assert_eq!(keepalive(b"\r\n\r\nREGISTER"), 4);
        assert_eq!(keepalive(b"\r\n\r"), 2);
        assert_eq!(
            parse(b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\n").unwrap_err(),
            Error::new(ErrorKind::BadStartLine, 0)
        );
        let wire = b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\n";
        let (msg, n) = lenient(wire);
        assert_eq!(n, wire.len());
        assert_eq!(msg.to_bytes(), &wire[4..]);
        for i in 0..wire.len() {
            assert!(
                matches!(
                    parse_with(&wire[..i], &Limits::lenient()),
                    Ok(Status::Incomplete(_))
                ),
                "prefix {i}"
            );
        }
    }

    #[test]
    fn sip_lenient_forms_keep_their_white_space_but_not_their_line_ends() {
        let wire = b"NOTIFY sip:a@b SIP/2.0\nEvent :message-summary\nSubject: one\n  two\nContent-Length:\t0\n\n";
        assert_eq!(
            parse(wire).unwrap_err(),
            Error::new(ErrorKind::BadLineEnding, 22)
        );
        let (msg, n) = lenient(wire);
        assert_eq!(n, wire.len());
        assert_eq!(msg.header("o"), Some("message-summary"));
        assert_eq!(msg.header("s"), Some("one two"));
        assert_eq!(msg.header("l"), Some("0"));
        // The white space around a colon is the line's own and is written back; a folded
        // value is written on one line, and line ends are CRLF.
        assert_eq!(
            msg.to_bytes(),
            b"NOTIFY sip:a@b SIP/2.0\r\nEvent :message-summary\r\nSubject: one two\r\nContent-Length:\t0\r\n\r\n"
        );
        let (missing, _) = lenient(b"SIP/2.0 200 OK\r\n\r\nrest");
        assert!(missing.body.is_empty());
    }

    #[test]
    fn sip_set_body_keeps_length() {
        let mut msg = Message::request(Method::MESSAGE, "sip:bob@example.com")
            .with_header("l", "99")
            .with_body(&b"hi"[..]);
        assert_eq!(msg.header("Content-Length"), Some("2"));
        msg.set_body(&b""[..]);
        assert_eq!(msg.headers.get("l"), Some("0"));
        let bytes = msg.to_bytes();
        assert_eq!(ok(&bytes).0, msg);
        let fresh = Message::response(200, "OK").with_body(&b"x"[..]);
        assert_eq!(fresh.headers.get("Content-Length"), Some("1"));
    }

    #[test]
    fn sip_huge_length_fails_before_allocating() {
        let e = parse(b"MESSAGE sip:a SIP/2.0\r\nl:  999999999999\r\n\r\n").unwrap_err();
        assert_eq!(e, Error::new(ErrorKind::LimitExceeded, 27));
    }

    #[test]
    fn sip_head_limit_bounds_unterminated_input() {
        let limits = Limits {
            max_head: 32,
            ..Limits::default()
        };
        let mut buf = b"MESSAGE sip:a SIP/2.0\r\n".to_vec();
        buf.extend(std::iter::repeat_n(b'F', 40));
        assert_eq!(
            parse_with(&buf, &limits).unwrap_err(),
            Error::new(ErrorKind::LimitExceeded, 32)
        );
    }

    reject!(
        sip_version_2_1,
        b"MESSAGE sip:a SIP/2.1\r\nl: 0\r\n\r\n",
        BadVersion,
        14
    );
    reject!(
        sip_status_version,
        b"SIP/3.0 200 OK\r\nl: 0\r\n\r\n",
        BadVersion,
        0
    );
    reject!(
        sip_status_two_digits,
        b"SIP/2.0 20 OK\r\n\r\n",
        BadStatus,
        8
    );
    reject!(
        sip_status_without_reason,
        b"SIP/2.0 200\r\n\r\n",
        BadStartLine,
        11
    );
    reject!(
        sip_reason_control_byte,
        b"SIP/2.0 200 O\x01K\r\n\r\n",
        BadStartLine,
        13
    );
    reject!(
        sip_method_slash,
        b"MES/SAGE sip:a SIP/2.0\r\n\r\n",
        BadMethod,
        3
    );
    reject!(sip_missing_uri, b"MESSAGE\r\n\r\n", BadStartLine, 7);
    reject!(
        sip_uri_without_scheme,
        b"MESSAGE bob@example.com SIP/2.0\r\n\r\n",
        BadTarget,
        11
    );
    reject!(
        sip_uri_control_byte,
        b"MESSAGE sip:a\x7fb SIP/2.0\r\n\r\n",
        BadTarget,
        13
    );
    reject!(
        sip_extra_token,
        b"MESSAGE sip:a SIP/2.0 x\r\n\r\n",
        BadStartLine,
        21
    );
    reject!(
        sip_missing_length,
        b"OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\n",
        Missing,
        35
    );
    reject!(
        sip_duplicate_length,
        b"MESSAGE sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 1\r\n\r\nab",
        DuplicateHeader,
        29
    );
    reject!(
        sip_length_not_decimal,
        b"MESSAGE sip:a SIP/2.0\r\nContent-Length: 1x\r\n\r\n",
        BadLength,
        40
    );
    reject!(
        sip_header_name_not_token,
        b"MESSAGE sip:a SIP/2.0\r\nTo<: x\r\nl: 0\r\n\r\n",
        BadHeader,
        25
    );
    reject!(
        sip_no_space_after_colon,
        b"MESSAGE sip:a SIP/2.0\r\nl:0\r\n\r\n",
        BadHeader,
        25
    );
    reject!(
        sip_folded_line,
        b"MESSAGE sip:a SIP/2.0\r\nSubject: a\r\n b\r\nl: 0\r\n\r\n",
        BadHeader,
        35
    );
}
