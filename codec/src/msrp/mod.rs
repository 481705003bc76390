//! MSRP chunks (RFC 4975, with errata 4177): requests (`SEND`, `REPORT`, …) and responses,
//! framed by their end-line, with typed header values in [`header`].
//!
//! ```text
//! msrp-request  = req-start headers [ content-stuff ] end-line
//! msrp-response = resp-start headers end-line
//! req-start     = "MSRP" SP transact-id SP method CRLF
//! resp-start    = "MSRP" SP transact-id SP status-code [ SP comment ] CRLF
//! transact-id   = ident
//! ident         = ALPHANUM 3*31( ALPHANUM / "." / "-" / "+" / "%" / "=" )
//! method        = 1*UPALPHA                    ; SEND, REPORT; AUTH (RFC 4976), NICKNAME (RFC 7701)
//! status-code   = 3DIGIT
//! comment       = utf8text                     ; *( HTAB / %x20-7E / UTF8-NONASCII )
//! headers       = To-Path CRLF From-Path CRLF *( header CRLF )
//! header        = hname ":" SP hval            ; hname = ALPHA *token
//! content-stuff = *( Other-Mime-header CRLF ) Content-Type 2CRLF data CRLF
//! end-line      = "-------" transact-id continuation-flag CRLF
//! continuation-flag = "$" / "+" / "#"          ; complete, more chunks follow, aborted
//! ```
//!
//! The body is not length-delimited: it ends where `CRLF "-------" transact-id flag CRLF`
//! begins, so the decoder searches for that end-line (RFC 4975 §7.1). The CRLF before the
//! end-line belongs to the end-line, not to the body (errata 4177), and a sender must pick
//! a transaction id whose end-line does not occur in the body ([`can_carry`]). The search is
//! bounded: a chunk whose end-line has not begun within [`Limits::max_body`] bytes of data is
//! [`ErrorKind::LimitExceeded`], whatever follows. Like every decoder here it is stateless:
//! after `Incomplete` the next call searches the body again, which costs a `memmem` pass over
//! at most `max_body` bytes.
//!
//! Deviations:
//!
//! * The grammar's `headers = To-Path CRLF From-Path CRLF 1*( header CRLF )` asks for a third
//!   header, which RFC 4975's own responses (`200 OK` with only the two paths) lack; this
//!   decoder follows the examples (`*`). To-Path and From-Path must come first, in that order.
//! * A header block that ends with a blank line must be a request's content-stuff: a
//!   response with a body is an error ([`ErrorKind::Unexpected`]), so is a body without a
//!   `Content-Type` header ([`ErrorKind::Missing`]). Other MIME headers are not checked.
//! * A line in the header block that starts with `-` must be this chunk's end-line: a
//!   different transaction id there is [`ErrorKind::BadTransactionId`] (inside a body it is
//!   just data). Header names compare ignoring case.
//! * Opt-in ([`Limits`]): bare-LF line endings, also before and after the end-line, for
//!   captures pasted from logs; `Name:value` without the space.

use std::borrow::Cow;

use crate::header::{BlockLimits, Forms, Headers};
use crate::{Error, ErrorKind, Needed, Status, scan};

mod codec;
pub mod header;

pub use codec::Msrp;

/// One MSRP request or response (a request body may be one chunk of a longer message).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Chunk<'a> {
    /// The transaction id of the start line, repeated in the end-line.
    pub transaction: Cow<'a, str>,
    /// The method or status.
    #[serde(flatten)]
    pub start: StartLine<'a>,
    /// Header lines in wire order, To-Path and From-Path first.
    pub headers: Headers<'a>,
    /// The data between the blank line and the CRLF of the end-line; `None` when there is no
    /// content-stuff (responses, REPORTs, body-less SENDs), `Some` (perhaps empty) otherwise.
    #[serde(serialize_with = "opt_bytes")]
    pub body: Option<Cow<'a, [u8]>>,
    /// The end-line's continuation flag.
    pub flag: Flag,
}

/// What follows the transaction id on the start line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StartLine<'a> {
    /// A request: `MSRP tid METHOD`.
    Request {
        /// The method.
        method: Method<'a>,
    },
    /// A response: `MSRP tid CODE [comment]`.
    Response {
        /// Three-digit status code.
        status: u16,
        /// The comment after the code (`OK`), if there is a space after the code.
        comment: Option<Cow<'a, str>>,
    },
}

/// A request method: one or more upper-case letters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Method<'a>(Cow<'a, str>);

/// The continuation flag of an end-line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// `#`: the message was aborted; no more chunks follow.
    Aborted,
    /// `$`: the last (or only) chunk of the message.
    Complete,
    /// `+`: more chunks of this message follow.
    Continued,
}

/// Bounds and opt-in leniencies for [`parse_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in the start line and header block together (blank line included).
    pub max_head: usize,
    /// Most header lines.
    pub max_headers: usize,
    /// Most data bytes in one chunk: the end-line must begin within this many bytes of the
    /// blank line.
    pub max_body: usize,
    /// Accept lines (and the line breaks around the end-line) ending in a bare LF.
    pub allow_bare_lf: bool,
    /// Accept `Name:value` with no space after the colon.
    pub allow_no_space: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 1024 * 1024,
            allow_bare_lf: false,
            allow_no_space: false,
        }
    }
}

impl Limits {
    /// The defaults with every leniency switched on.
    pub fn lenient() -> Self {
        Self {
            allow_bare_lf: true,
            allow_no_space: true,
            ..Self::default()
        }
    }
}

/// Decodes one chunk from the start of `buf` with the default [`Limits`].
///
/// Returns the chunk and the number of bytes it occupies, end-line included.
pub fn parse(buf: &[u8]) -> crate::Result<(Chunk<'_>, usize)> {
    parse_with(buf, &Limits::default())
}

/// Decodes one chunk from the start of `buf`.
pub fn parse_with<'a>(buf: &'a [u8], limits: &Limits) -> crate::Result<(Chunk<'a>, usize)> {
    let head_limit = |status: Status<_>| match status {
        Status::Incomplete(_) if buf.len() > limits.max_head => {
            Err(Error::new(ErrorKind::LimitExceeded, limits.max_head))
        }
        other => Ok(other),
    };
    // The first offending byte wins however the input is cut: a UTF-8 error before a
    // structural one is reported instead.
    let first = |e: Error| scan::utf8(buf, 0, e.offset()).err().unwrap_or(e);
    // A start line that does not begin with `MSRP ` need not wait for its end.
    check_prefix(buf)?;
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
        end_line: Some(b'-'),
        ..Forms::NONE
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
    let text = scan::utf8(buf, 0, blank)?;
    let headers = crate::header::build(text, 0, &spans);
    check_headers(buf, &headers, blank)?;
    let tid = text.get(start.tid.0..start.tid.1).unwrap_or_default();
    let (body, flag, end) = if blank == head_end {
        // No blank line: the end-line follows the headers.
        match end_line(buf, blank, tid, limits.allow_bare_lf)? {
            Status::Complete((flag, end)) => (None, flag, end),
            Status::Incomplete(n) => return Ok(Status::Incomplete(n)),
        }
    } else {
        if start.is_response() {
            return Err(Error::new(ErrorKind::Unexpected, blank));
        }
        if !headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("Content-Type"))
        {
            return Err(Error::new(ErrorKind::Missing, blank));
        }
        match find_end(buf, head_end, tid, limits)? {
            Status::Complete((body_end, flag, end)) => {
                (buf.get(head_end..body_end).map(Cow::Borrowed), flag, end)
            }
            Status::Incomplete(n) => return Ok(Status::Incomplete(n)),
        }
    };
    Ok(Status::Complete((
        Chunk {
            transaction: Cow::Borrowed(tid),
            start: start.build(text),
            headers,
            body,
            flag,
        },
        end,
    )))
}

/// Whether `transaction` is a valid transact-id (`ident`: 4–32 characters, the first
/// alphanumeric, the rest alphanumeric or `.-+%=`).
pub fn is_transaction_id(transaction: &str) -> bool {
    check_ident(transaction.as_bytes()).is_ok()
}

/// Whether a chunk with transaction id `transaction` can carry `body`: its end-line must not
/// occur in the body (nor be completed by the body's last bytes and the CRLF that follows
/// them). A sender picks another id when this is false (RFC 4975 §7.1).
pub fn can_carry(transaction: &str, body: &[u8]) -> bool {
    let mut framed = Vec::with_capacity(body.len() + transaction.len() + 12);
    framed.extend_from_slice(body);
    framed.extend_from_slice(b"\r\n-------");
    framed.extend_from_slice(transaction.as_bytes());
    framed.extend_from_slice(b"$\r\n");
    let limits = Limits {
        max_body: body.len(),
        ..Limits::default()
    };
    is_transaction_id(transaction)
        && matches!(
            find_end(&framed, 0, transaction, &limits),
            Ok(Status::Complete((end, _, _))) if end == body.len()
        )
}

impl<'a> Chunk<'a> {
    /// A request with no headers and no body, ending in `$`.
    pub fn request(transaction: impl Into<Cow<'a, str>>, method: impl Into<Method<'a>>) -> Self {
        Self {
            transaction: transaction.into(),
            start: StartLine::Request {
                method: method.into(),
            },
            headers: Headers::new(),
            body: None,
            flag: Flag::Complete,
        }
    }

    /// A response with no headers, ending in `$`.
    pub fn response(
        transaction: impl Into<Cow<'a, str>>,
        status: u16,
        comment: Option<Cow<'a, str>>,
    ) -> Self {
        Self {
            transaction: transaction.into(),
            start: StartLine::Response { status, comment },
            headers: Headers::new(),
            body: None,
            flag: Flag::Complete,
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

    /// Sets the body (builder style). The caller adds `Content-Type` and checks
    /// [`can_carry`].
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Cow<'a, [u8]>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets the continuation flag (builder style).
    #[must_use]
    pub fn with_flag(mut self, flag: Flag) -> Self {
        self.flag = flag;
        self
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method, for requests.
    pub fn method(&self) -> Option<&Method<'a>> {
        match &self.start {
            StartLine::Request { method } => Some(method),
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

    /// The first value of header `name` (ignoring case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// `To-Path`, typed.
    pub fn to_path(&self) -> Option<Result<header::Path<'_>, Error>> {
        self.header("To-Path").map(header::Path::parse)
    }

    /// `From-Path`, typed.
    pub fn from_path(&self) -> Option<Result<header::Path<'_>, Error>> {
        self.header("From-Path").map(header::Path::parse)
    }

    /// `Message-ID`, checked as an `ident`.
    pub fn message_id(&self) -> Option<Result<&str, Error>> {
        self.header("Message-ID").map(header::message_id)
    }

    /// `Byte-Range`, typed.
    pub fn byte_range(&self) -> Option<Result<header::ByteRange, Error>> {
        self.header("Byte-Range").map(header::ByteRange::parse)
    }

    /// `Status` (in REPORTs), typed.
    pub fn status_header(&self) -> Option<Result<header::Status<'_>, Error>> {
        self.header("Status").map(header::Status::parse)
    }

    /// `Success-Report`, typed (`yes` / `no`).
    pub fn success_report(&self) -> Option<Result<header::Report, Error>> {
        self.header("Success-Report")
            .map(header::Report::parse_success)
    }

    /// `Failure-Report`, typed (`yes` / `no` / `partial`).
    pub fn failure_report(&self) -> Option<Result<header::Report, Error>> {
        self.header("Failure-Report")
            .map(header::Report::parse_failure)
    }

    /// `Content-Type`, typed.
    pub fn content_type(&self) -> Option<Result<header::ContentType<'_>, Error>> {
        self.header("Content-Type").map(header::ContentType::parse)
    }

    /// Writes the chunk in wire form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(b"MSRP ");
        out.extend_from_slice(self.transaction.as_bytes());
        out.push(b' ');
        match &self.start {
            StartLine::Request { method } => out.extend_from_slice(method.as_str().as_bytes()),
            StartLine::Response { status, comment } => {
                let s = (*status).min(999);
                out.extend_from_slice(&[
                    b'0' + (s / 100) as u8,
                    b'0' + (s / 10 % 10) as u8,
                    b'0' + (s % 10) as u8,
                ]);
                if let Some(comment) = comment {
                    out.push(b' ');
                    out.extend_from_slice(comment.as_bytes());
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        self.headers.encode(out);
        if let Some(body) = &self.body {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"-------");
        out.extend_from_slice(self.transaction.as_bytes());
        out.push(self.flag.as_byte());
        out.extend_from_slice(b"\r\n");
    }

    /// The chunk in wire form, as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        let start = match &self.start {
            StartLine::Request { method } => method.as_str().len(),
            StartLine::Response { comment, .. } => 3 + comment.as_ref().map_or(0, |c| 1 + c.len()),
        };
        let body = self.body.as_ref().map_or(0, |b| 2 + b.len() + 2);
        let tid = self.transaction.len();
        5 + tid + 1 + start + 2 + self.headers.encoded_len() + body + 7 + tid + 1 + 2
    }

    /// The same chunk owning its data.
    pub fn into_owned(self) -> Chunk<'static> {
        Chunk {
            transaction: Cow::Owned(self.transaction.into_owned()),
            start: match self.start {
                StartLine::Request { method } => StartLine::Request {
                    method: method.into_owned(),
                },
                StartLine::Response { status, comment } => StartLine::Response {
                    status,
                    comment: comment.map(|c| Cow::Owned(c.into_owned())),
                },
            },
            headers: self.headers.into_owned(),
            body: self.body.map(|b| Cow::Owned(b.into_owned())),
            flag: self.flag,
        }
    }
}

impl<'a> Method<'a> {
    /// `SEND`: carries (a chunk of) a message.
    pub const SEND: Method<'static> = Method(Cow::Borrowed("SEND"));
    /// `REPORT`: end-to-end delivery status, with a `Status` header.
    pub const REPORT: Method<'static> = Method(Cow::Borrowed("REPORT"));
    /// `AUTH` (RFC 4976, relays).
    pub const AUTH: Method<'static> = Method(Cow::Borrowed("AUTH"));
    /// `NICKNAME` (RFC 7701, chat rooms).
    pub const NICKNAME: Method<'static> = Method(Cow::Borrowed("NICKNAME"));

    /// A method from its token; `None` unless it is one or more upper-case ASCII letters.
    pub fn new(token: impl Into<Cow<'a, str>>) -> Option<Self> {
        let token = token.into();
        (!token.is_empty() && token.bytes().all(|b| b.is_ascii_uppercase())).then_some(Self(token))
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

impl Flag {
    /// The flag byte (`$`, `+`, `#`).
    pub const fn as_byte(self) -> u8 {
        match self {
            Self::Aborted => b'#',
            Self::Complete => b'$',
            Self::Continued => b'+',
        }
    }

    /// The flag for a byte.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'#' => Some(Self::Aborted),
            b'$' => Some(Self::Complete),
            b'+' => Some(Self::Continued),
            _ => None,
        }
    }
}

/// The start line's parts as byte ranges (validated as UTF-8 later with the headers).
struct StartSpans {
    tid: (usize, usize),
    kind: StartKind,
}

enum StartKind {
    Request {
        method: (usize, usize),
    },
    Response {
        status: u16,
        comment: Option<(usize, usize)>,
    },
}

impl StartSpans {
    fn is_response(&self) -> bool {
        matches!(self.kind, StartKind::Response { .. })
    }

    fn build(self, text: &str) -> StartLine<'_> {
        let span = |(a, b): (usize, usize)| Cow::Borrowed(text.get(a..b).unwrap_or_default());
        match self.kind {
            StartKind::Request { method } => StartLine::Request {
                method: Method(span(method)),
            },
            StartKind::Response { status, comment } => StartLine::Response {
                status,
                comment: comment.map(span),
            },
        }
    }
}

const PREFIX: &[u8] = b"MSRP ";

/// Rejects a start line early when its first bytes are not `MSRP ` (a reader need not
/// wait for a line ending to know that). A CR or LF where the prefix differs is left to the
/// line scan, which decides between a short line and a bad line ending; any other
/// difference is the first offending byte, since every byte before it is part of `MSRP `.
fn check_prefix(buf: &[u8]) -> Result<(), Error> {
    match buf.iter().zip(PREFIX).position(|(a, b)| a != b) {
        Some(i) if !matches!(buf.get(i), Some(b'\r' | b'\n')) => Err(prefix_error(i)),
        _ => Ok(()),
    }
}

fn prefix_error(i: usize) -> Error {
    if i < 4 {
        Error::new(ErrorKind::BadVersion, i)
    } else {
        Error::new(ErrorKind::BadStartLine, i)
    }
}

/// ```text
/// req-start  = "MSRP" SP transact-id SP method
/// resp-start = "MSRP" SP transact-id SP status-code [ SP comment ]
/// ```
fn parse_start_line(buf: &[u8], end: usize) -> Result<StartSpans, Error> {
    let line = buf.get(..end).unwrap_or_default();
    if let Some(i) = PREFIX
        .iter()
        .enumerate()
        .position(|(i, &p)| line.get(i) != Some(&p))
    {
        return Err(if i < line.len() {
            prefix_error(i)
        } else {
            Error::new(ErrorKind::BadStartLine, end)
        });
    }
    let tid_start = PREFIX.len();
    let tid_end = line
        .iter()
        .skip(tid_start)
        .position(|&b| b == b' ')
        .map_or(end, |i| tid_start + i);
    check_ident(line.get(tid_start..tid_end).unwrap_or_default())
        .map_err(|i| Error::new(ErrorKind::BadTransactionId, tid_start + i))?;
    if tid_end == end {
        return Err(Error::new(ErrorKind::BadStartLine, end));
    }
    let rest = tid_end + 1;
    let kind = if line.get(rest).is_some_and(u8::is_ascii_digit) {
        let code = line
            .get(rest..rest + 3)
            .filter(|c| c.iter().all(u8::is_ascii_digit))
            .ok_or(Error::new(ErrorKind::BadStatus, rest))?;
        let status = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
        let comment = match line.get(rest + 3) {
            None => None,
            Some(b' ') => {
                let from = rest + 4;
                if let Some(bad) = line
                    .get(from..)
                    .unwrap_or_default()
                    .iter()
                    .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
                {
                    return Err(Error::new(ErrorKind::BadStartLine, from + bad));
                }
                Some((from, end))
            }
            Some(_) => return Err(Error::new(ErrorKind::BadStatus, rest + 3)),
        };
        StartKind::Response { status, comment }
    } else {
        let method_end = line
            .iter()
            .skip(rest)
            .position(|b| !b.is_ascii_uppercase())
            .map_or(end, |i| rest + i);
        if method_end == rest {
            return Err(Error::new(ErrorKind::BadMethod, rest));
        }
        match line.get(method_end) {
            None => {}
            Some(b' ') => return Err(Error::new(ErrorKind::BadStartLine, method_end)),
            Some(_) => return Err(Error::new(ErrorKind::BadMethod, method_end)),
        }
        StartKind::Request {
            method: (rest, method_end),
        }
    };
    Ok(StartSpans {
        tid: (tid_start, tid_end),
        kind,
    })
}

/// `ident = ALPHANUM 3*31( ALPHANUM / "." / "-" / "+" / "%" / "=" )`; the error is the
/// offset of the first offending byte (the end when it is too short).
fn check_ident(b: &[u8]) -> Result<(), usize> {
    if !b.first().is_some_and(u8::is_ascii_alphanumeric) {
        return Err(0);
    }
    if let Some(i) = b.iter().position(|&c| !is_ident(c)) {
        return Err(i);
    }
    match b.len() {
        4..=32 => Ok(()),
        n if n < 4 => Err(n),
        _ => Err(32),
    }
}

pub(crate) const fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'%' | b'=')
}

/// To-Path and From-Path first, names `ALPHA *token`.
fn check_headers(buf: &[u8], headers: &Headers<'_>, blank: usize) -> Result<(), Error> {
    for h in headers.iter() {
        let at = scan::offset_in(buf, &h.name);
        let b = h.name.as_bytes();
        if !b.first().is_some_and(u8::is_ascii_alphabetic) {
            return Err(Error::new(ErrorKind::BadHeader, at));
        }
        if let Some(i) = b.iter().position(|&c| !crate::sip::is_token(c)) {
            return Err(Error::new(ErrorKind::BadHeader, at + i));
        }
    }
    for (i, want) in ["To-Path", "From-Path"].into_iter().enumerate() {
        match headers.0.get(i) {
            None => return Err(Error::new(ErrorKind::Missing, blank)),
            Some(h) if h.name.eq_ignore_ascii_case(want) => {}
            Some(h) => {
                return Err(Error::new(
                    ErrorKind::Unexpected,
                    scan::offset_in(buf, &h.name),
                ));
            }
        }
    }
    Ok(())
}

/// The end-line at `at` (no body before it): its flag and the offset just past it.
fn end_line(buf: &[u8], at: usize, tid: &str, allow_bare_lf: bool) -> crate::Result<(Flag, usize)> {
    let dashes = b"-------";
    for (i, &want) in dashes.iter().chain(tid.as_bytes()).enumerate() {
        match buf.get(at + i) {
            None => return Ok(Status::Incomplete(Needed::Unknown)),
            Some(&got) if got == want => {}
            Some(_) if i < dashes.len() => return Err(Error::new(ErrorKind::BadHeader, at + i)),
            Some(_) => return Err(Error::new(ErrorKind::BadTransactionId, at + i)),
        }
    }
    let flag_at = at + dashes.len() + tid.len();
    let Some(&f) = buf.get(flag_at) else {
        return Ok(Status::Incomplete(Needed::Unknown));
    };
    let Some(flag) = Flag::from_byte(f) else {
        let kind = if is_ident(f) {
            ErrorKind::BadTransactionId
        } else {
            ErrorKind::Unexpected
        };
        return Err(Error::new(kind, flag_at));
    };
    match (buf.get(flag_at + 1), buf.get(flag_at + 2)) {
        (Some(b'\r'), Some(b'\n')) => Ok(Status::Complete((flag, flag_at + 3))),
        (Some(b'\r'), None) | (None, _) => Ok(Status::Incomplete(Needed::Unknown)),
        (Some(b'\n'), _) if allow_bare_lf => Ok(Status::Complete((flag, flag_at + 2))),
        _ => Err(Error::new(ErrorKind::BadLineEnding, flag_at + 1)),
    }
}

/// Searches the data that starts at `from` for the end-line of `tid`: returns where the data
/// ends (before the end-line's line break), the flag and the offset just past the end-line.
///
/// A candidate `LF "-------" tid` that is not preceded by CR (strict) or not followed by a
/// flag and a line break is data, and the search goes on after it. The first candidate whose
/// flag or line break has not arrived yet makes the answer `Incomplete`, so the result never
/// depends on how the input was cut.
fn find_end(
    buf: &[u8],
    from: usize,
    tid: &str,
    limits: &Limits,
) -> crate::Result<(usize, Flag, usize)> {
    let mut needle = [0u8; 8 + 32];
    let n = 8 + tid.len();
    let Some(slot) = needle.get_mut(..n) else {
        return Err(Error::new(ErrorKind::BadTransactionId, from));
    };
    slot[0] = b'\n';
    slot[1..8].copy_from_slice(b"-------");
    slot[8..].copy_from_slice(tid.as_bytes());
    let finder = memchr::memmem::Finder::new(&needle[..n]);
    // The latest LF that can start an end-line: the data may hold `max_body` bytes, then CR.
    let last_lf = from.saturating_add(limits.max_body).saturating_add(1);
    let reach = last_lf.saturating_add(n + 3);
    let window = buf.get(..reach.min(buf.len())).unwrap_or_default();
    let mut at = from;
    while let Some(rel) = window.get(at..).and_then(|hay| finder.find(hay)) {
        let lf = at + rel;
        at = lf + 1;
        let body_end = match lf.checked_sub(1) {
            Some(cr) if cr >= from && buf.get(cr) == Some(&b'\r') => cr,
            _ if limits.allow_bare_lf => lf,
            _ => continue,
        };
        if body_end - from > limits.max_body {
            break;
        }
        let flag_at = lf + n;
        let Some(&f) = buf.get(flag_at) else {
            return Ok(Status::Incomplete(Needed::Unknown));
        };
        let Some(flag) = Flag::from_byte(f) else {
            continue;
        };
        match (buf.get(flag_at + 1), buf.get(flag_at + 2)) {
            (Some(b'\r'), Some(b'\n')) => {
                return Ok(Status::Complete((body_end, flag, flag_at + 3)));
            }
            (Some(b'\r'), None) | (None, _) => return Ok(Status::Incomplete(Needed::Unknown)),
            (Some(b'\n'), _) if limits.allow_bare_lf => {
                return Ok(Status::Complete((body_end, flag, flag_at + 2)));
            }
            _ => {}
        }
    }
    if buf.len() >= reach {
        Err(Error::new(
            ErrorKind::LimitExceeded,
            from.saturating_add(limits.max_body),
        ))
    } else {
        Ok(Status::Incomplete(Needed::Unknown))
    }
}

fn opt_bytes<S: serde::Serializer>(body: &Option<Cow<'_, [u8]>>, s: S) -> Result<S::Ok, S::Error> {
    match body {
        Some(b) => crate::ser::bytes(b, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of RFC 4975's first example (docs/protocols/sip.md §5.2).
    const SEND: &[u8] = b"MSRP a786hjs2 SEND\r\nTo-Path: msrp://bob.example.com:12763/kjhd37s2s20w2a;tcp\r\nFrom-Path: msrp://alice.example.com:7654/jshA7weztas;tcp\r\nMessage-ID: 87652491\r\nByte-Range: 1-25/25\r\nContent-Type: text/plain\r\n\r\nHey Bob, are you there?\r\n-------a786hjs2$\r\n";
    const OK: &[u8] = b"MSRP a786hjs2 200 OK\r\nTo-Path: msrp://alice.example.com:7654/jshA7weztas;tcp\r\nFrom-Path: msrp://bob.example.com:12763/kjhd37s2s20w2a;tcp\r\n-------a786hjs2$\r\n";

    fn ok(buf: &[u8]) -> (Chunk<'_>, usize) {
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
    fn msrp_send_and_response_round_trip() {
        for wire in [SEND, OK] {
            let (chunk, n) = ok(wire);
            assert_eq!(n, wire.len());
            assert_eq!(chunk.transaction, "a786hjs2");
            assert_eq!(chunk.flag, Flag::Complete);
            assert_eq!(chunk.to_bytes(), wire);
            assert_eq!(chunk.encoded_len(), wire.len());
        }
        let (send, _) = ok(SEND);
        assert_eq!(send.method(), Some(&Method::SEND));
        assert_eq!(send.body.as_deref(), Some(&b"Hey Bob, are you there?"[..]));
        assert_eq!(
            send.byte_range(),
            Some(Ok(header::ByteRange::new(1, Some(25), Some(25))))
        );
        let (resp, _) = ok(OK);
        assert_eq!(resp.status(), Some(200));
        assert!(resp.body.is_none());
    }

    #[test]
    fn msrp_every_proper_prefix_is_incomplete() {
        for wire in [SEND, OK] {
            for i in 0..wire.len() {
                assert!(
                    matches!(parse(&wire[..i]), Ok(Status::Incomplete(_))),
                    "prefix {i}: {:?}",
                    parse(&wire[..i])
                );
            }
        }
    }

    #[test]
    fn msrp_body_may_hold_near_misses_of_its_end_line() {
        let body = b"a\r\n-------a786hjs2\r\n-------a786hjs2x$\r\n-------other$\r\n\n-------a786hjs2$\r\nz";
        let chunk = Chunk::request("a786hjs2", Method::SEND)
            .with_header("To-Path", "msrp://b.example.com:1/s;tcp")
            .with_header("From-Path", "msrp://a.example.com:2/t;tcp")
            .with_header("Content-Type", "text/plain")
            .with_body(&body[..]);
        assert!(can_carry("a786hjs2", body));
        let wire = chunk.to_bytes();
        let (back, n) = ok(&wire);
        assert_eq!((back.clone(), n), (chunk, wire.len()));
        assert!(!can_carry("a786hjs2", b"x\r\n-------a786hjs2+\r\ny"));
        assert!(!can_carry("a786hjs2", b"x\r\n-------a786hjs2$"));
        assert!(!can_carry("abc", b"x"));
    }

    #[test]
    fn msrp_empty_body_and_continuation_flags() {
        let wire = b"MSRP dkei38sd SEND\r\nTo-Path: msrp://b.example.com:1/s;tcp\r\nFrom-Path: msrp://a.example.com:2/t;tcp\r\nContent-Type: text/plain\r\n\r\n\r\n-------dkei38sd+\r\n";
        let (chunk, _) = ok(wire);
        assert_eq!(chunk.body.as_deref(), Some(&b""[..]));
        assert_eq!(chunk.flag, Flag::Continued);
        assert_eq!(chunk.to_bytes(), wire);
    }

    #[test]
    fn msrp_unterminated_body_hits_the_limit() {
        let limits = Limits {
            max_body: 16,
            ..Limits::default()
        };
        let head = b"MSRP abcd SEND\r\nTo-Path: msrp://b:1/s;tcp\r\nFrom-Path: msrp://a:2/t;tcp\r\nContent-Type: text/plain\r\n\r\n";
        let mut buf = head.to_vec();
        // 16 data bytes then an end-line fits exactly.
        buf.extend_from_slice(b"0123456789abcdef\r\n-------abcd$\r\n");
        assert!(parse_with(&buf, &limits).unwrap().is_complete());
        let mut long = head.to_vec();
        long.extend_from_slice(b"0123456789abcdefg\r\n-------abcd$\r\n");
        assert_eq!(
            parse_with(&long, &limits).unwrap_err(),
            Error::new(ErrorKind::LimitExceeded, head.len() + 16)
        );
        for i in 0..long.len() {
            assert!(
                !matches!(parse_with(&long[..i], &limits), Ok(Status::Complete(_))),
                "prefix {i}"
            );
        }
    }

    #[test]
    fn msrp_bare_lf_is_opt_in() {
        let wire = b"MSRP abcd SEND\nTo-Path: msrp://b:1/s;tcp\nFrom-Path: msrp://a:2/t;tcp\nContent-Type: text/plain\n\nhi\n-------abcd$\n";
        assert_eq!(
            parse(wire).unwrap_err(),
            Error::new(ErrorKind::BadLineEnding, 14)
        );
        let (chunk, n) = match parse_with(wire, &Limits::lenient()) {
            Ok(Status::Complete(v)) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!((chunk.body.as_deref(), n), (Some(&b"hi"[..]), wire.len()));
        assert!(chunk.to_bytes().windows(2).any(|w| w == b"\r\n"));
    }

    #[test]
    fn msrp_ids_and_methods() {
        assert!(is_transaction_id("a786hjs2"));
        assert!(is_transaction_id("A.-+%=1"));
        assert!(!is_transaction_id("abc"));
        assert!(!is_transaction_id(".abcd"));
        assert!(!is_transaction_id(&"a".repeat(33)));
        assert!(Method::new("NICKNAME").is_some());
        assert!(Method::new("Send").is_none());
    }

    const HEAD: &str = "To-Path: msrp://b:1/s;tcp\r\nFrom-Path: msrp://a:2/t;tcp\r\n";

    fn chunk(start: &str, rest: &str) -> Vec<u8> {
        format!("{start}\r\n{HEAD}{rest}").into_bytes()
    }

    #[test]
    fn msrp_rejects() {
        let cases: &[(Vec<u8>, ErrorKind, usize)] = &[
            (b"MSRQ abcd SEND\r\n".to_vec(), ErrorKind::BadVersion, 3),
            (b"msrp".to_vec(), ErrorKind::BadVersion, 0),
            (b"MSRP\tabcd SEND".to_vec(), ErrorKind::BadStartLine, 4),
            (chunk("MSRP abc SEND", "-------abc$\r\n"), ErrorKind::BadTransactionId, 8),
            (chunk("MSRP _abc SEND", "-------_abc$\r\n"), ErrorKind::BadTransactionId, 5),
            (chunk("MSRP ab/cd SEND", ""), ErrorKind::BadTransactionId, 7),
            (chunk("MSRP abcd", ""), ErrorKind::BadStartLine, 9),
            (chunk("MSRP abcd send", ""), ErrorKind::BadMethod, 10),
            (chunk("MSRP abcd SEND x", ""), ErrorKind::BadStartLine, 14),
            (chunk("MSRP abcd 20 OK", ""), ErrorKind::BadStatus, 10),
            (chunk("MSRP abcd 2000", ""), ErrorKind::BadStatus, 13),
            (chunk("MSRP abcd 200 O\x01K", ""), ErrorKind::BadStartLine, 15),
            (chunk("MSRP abcd SEND", "-------abce$\r\n"), ErrorKind::BadTransactionId, 82),
            (chunk("MSRP abcd SEND", "-------abcde$\r\n"), ErrorKind::BadTransactionId, 83),
            (chunk("MSRP abcd SEND", "-------abcd!\r\n"), ErrorKind::Unexpected, 83),
            (chunk("MSRP abcd SEND", "------abcd$\r\n"), ErrorKind::BadHeader, 78),
            (chunk("MSRP abcd SEND", "-------abcd$\rx"), ErrorKind::BadLineEnding, 84),
            (chunk("MSRP abcd 200 OK", "Content-Type: text/plain\r\n\r\nx\r\n-------abcd$\r\n"), ErrorKind::Unexpected, 100),
            (chunk("MSRP abcd SEND", "Byte-Range: 1-1/1\r\n\r\nx\r\n-------abcd$\r\n"), ErrorKind::Missing, 91),
            (b"MSRP abcd SEND\r\nFrom-Path: msrp://a:2/t;tcp\r\nTo-Path: msrp://b:1/s;tcp\r\n-------abcd$\r\n".to_vec(), ErrorKind::Unexpected, 16),
            (b"MSRP abcd SEND\r\nTo-Path: msrp://b:1/s;tcp\r\n-------abcd$\r\n".to_vec(), ErrorKind::Missing, 43),
            (chunk("MSRP abcd SEND", "1X: y\r\n-------abcd$\r\n"), ErrorKind::BadHeader, 72),
            (chunk("MSRP abcd SEND", "X<: y\r\n-------abcd$\r\n"), ErrorKind::BadHeader, 73),
        ];
        for (input, kind, offset) in cases {
            assert_eq!(
                parse(input).map(|s| s.is_complete()),
                Err(Error::new(*kind, *offset)),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    // Found by proptest (msrp_near_valid_bytes_keep_the_laws): a CR in place of the `M`
    // was a bad version when it arrived alone and a bad line ending in the whole input.
    #[test]
    fn msrp_cr_in_the_prefix_is_judged_by_the_line_scan() {
        let wire = b"\rSRP abcd SEND\r\n";
        let whole = parse(wire).map(|s| s.is_complete());
        assert_eq!(whole, Err(Error::new(ErrorKind::BadLineEnding, 0)));
        assert_eq!(parse(&wire[..1]), Ok(Status::Incomplete(Needed::Unknown)));
        assert_eq!(
            parse(b"MSR\r\n").map(|s| s.is_complete()),
            Err(Error::new(ErrorKind::BadStartLine, 3))
        );
    }

    reject!(
        msrp_header_not_utf8,
        b"MSRP abcd SEND\r\nTo-Path: \xff\r\n-------abcd$\r\n",
        Utf8,
        25
    );
}
