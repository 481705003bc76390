//! MSNP payloads: the MSNP24 outer header block, and layered `SDG`/`NFY`/`PUT` messages.
//!
//! ```text
//! payload      = outer-headers CRLF body                 ; MSNP24 (Miranda NG, JavaSkype)
//! layered      = routing CRLF reliability CRLF service CRLF body
//! routing      = "Routing: 1.0" CRLF *(header CRLF)      ; To, From, Options, Service-Channel
//! reliability  = "Reliability: 1.0" CRLF *(header CRLF)  ; Stream, Segment
//! service      = ("Messaging" / "Publication" / "Notification") ": " version CRLF *(header CRLF)
//! ```
//!
//! In MSNP21 (MSNPSharp, Escargot, ReLiveWP) the payload *is* the layered message and starts
//! with `Routing: 1.0`; in MSNP24 (Miranda NG, JavaSkype) it is an outer header block
//! (`Registration`, `Ack-Id`), a blank line, then the layered message. A header block may be
//! empty, so an MSNP24 payload with no outer headers starts with CRLF.
//!
//! `Content-Length` in the service block counts the body only; a mismatch is an error here
//! because a reader relying on it would desynchronise. Two forms seen in MSNPSharp's
//! MSNP21 samples are accepted as they are: a body followed by a CRLF that
//! `Content-Length` does not count (`NFY PUT 295`, kept in [`Layered::trailing_crlf`]), and
//! a message with no service block at all (the `PUT 35 OK 165` reply: routing and
//! reliability only, kept as an empty [`Layered::service`]).
//!
//! These decoders take a payload that framing already cut out: running out of bytes is an
//! error (`Missing`), not `Incomplete`. Offsets are relative to the payload; shift them with
//! [`Error::shifted`] by the payload's start for frame offsets.

use std::borrow::Cow;

use crate::header::{BlockLimits, Headers};
use crate::{Error, ErrorKind, Status, scan};

/// An MSNP24 payload: outer headers, a blank line, and the body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Payload<'a> {
    /// The outer header lines (`Registration`, `Set-Registration`, `Ack-Id`), possibly none.
    pub headers: Headers<'a>,
    /// Everything after the blank line.
    #[serde(serialize_with = "crate::ser::bytes")]
    pub body: Cow<'a, [u8]>,
}

/// A layered message (`SDG`, `NFY`, `PUT MSGR\PRESENCE`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Layered<'a> {
    /// The MSNP24 outer headers; `None` in the MSNP21 form that starts with `Routing: 1.0`.
    pub outer: Option<Headers<'a>>,
    /// `Routing: 1.0`, `To`, `From`, …
    pub routing: Headers<'a>,
    /// `Reliability: 1.0`, `Stream`, `Segment`, …
    pub reliability: Headers<'a>,
    /// `Messaging: 2.0` (or `Publication`, `Notification`), `Content-Type`, `Message-Type`, …;
    /// empty when the message has no service block (then the body is empty too).
    pub service: Headers<'a>,
    /// The message body.
    #[serde(serialize_with = "crate::ser::bytes")]
    pub body: Cow<'a, [u8]>,
    /// A CRLF after the body that `Content-Length` does not count (MSNPSharp samples).
    pub trailing_crlf: bool,
}

/// The most header lines in one block of a payload.
pub const MAX_HEADERS: usize = 64;

/// MIME header fields (RFC 5322 §2.2, `field-name ":" unstructured`): `Name:value` is the
/// same field as `Name: value` (the white space is the line's, not the value's, and is
/// written back as read).
const BLOCK: BlockLimits = BlockLimits {
    max_headers: MAX_HEADERS,
    allow_bare_lf: false,
    allow_no_space: true,
};

impl<'a> Payload<'a> {
    /// Splits a payload into outer headers and body.
    pub fn parse(payload: &'a [u8]) -> Result<Self, Error> {
        let (headers, end) = block(payload, 0)?;
        Ok(Self {
            headers,
            body: Cow::Borrowed(payload.get(end..).unwrap_or_default()),
        })
    }

    /// A payload from headers and a body.
    pub fn new(headers: Headers<'a>, body: impl Into<Cow<'a, [u8]>>) -> Self {
        Self {
            headers,
            body: body.into(),
        }
    }

    /// The body as UTF-8 text, if it is.
    pub fn body_text(&self) -> Option<&str> {
        core::str::from_utf8(&self.body).ok()
    }

    /// Writes the payload.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.headers.encode(out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The payload as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        self.headers.encoded_len() + 2 + self.body.len()
    }

    /// The same payload owning its data.
    pub fn into_owned(self) -> Payload<'static> {
        Payload {
            headers: self.headers.into_owned(),
            body: Cow::Owned(self.body.into_owned()),
        }
    }
}

/// [`Payload::parse`] and [`Layered::parse`] of one payload, with the header block both start
/// with read once (a reader that wants both readings, as the runner's frame fields do).
pub fn parse_both(payload: &[u8]) -> (Result<Payload<'_>, Error>, Result<Layered<'_>, Error>) {
    match block(payload, 0) {
        Err(e) => (Err(e), Err(e)),
        Ok((headers, end)) => {
            let layered = Layered::after_first(payload, headers.clone(), end);
            let body = Cow::Borrowed(payload.get(end..).unwrap_or_default());
            (Ok(Payload { headers, body }), layered)
        }
    }
}

impl<'a> Layered<'a> {
    /// Parses a layered payload in either the MSNP21 or the MSNP24 form.
    ///
    /// Either form starts with the header block [`Payload::parse`] reads, so a payload that
    /// [`Payload::parse`] rejects, this rejects too.
    pub fn parse(payload: &'a [u8]) -> Result<Self, Error> {
        let (first, end) = block(payload, 0)?;
        Self::after_first(payload, first, end)
    }

    /// The rest of [`parse`](Self::parse) once the first block (`first`, ending at `end`) is
    /// read.
    fn after_first(payload: &'a [u8], first: Headers<'a>, end: usize) -> Result<Self, Error> {
        let (outer, routing, at) = if payload.starts_with(b"Routing:") {
            // MSNP21: the first block is the routing block (its first name is `Routing`).
            (None, first, end)
        } else {
            let (routing, at) = first_is(payload, end, &["Routing"])?;
            (Some(first), routing, at)
        };
        let (reliability, at) = first_is(payload, at, &["Reliability"])?;
        let mut layered = Self {
            outer,
            routing,
            reliability,
            ..Self::default()
        };
        if at == payload.len() {
            return Ok(layered);
        }
        let (service, at) = first_is(payload, at, &["Messaging", "Publication", "Notification"])?;
        let mut body = payload.get(at..).unwrap_or_default();
        if let Some(value) = service.get("Content-Length") {
            let declared = scan::decimal(value.trim().as_bytes(), 20);
            let uncounted_crlf = body.ends_with(b"\r\n") && declared == Some(body.len() as u64 - 2);
            if uncounted_crlf {
                body = body.get(..body.len() - 2).unwrap_or_default();
                layered.trailing_crlf = true;
            } else if declared != Some(body.len() as u64) {
                return Err(Error::new(
                    ErrorKind::BadLength,
                    scan::offset_in(payload, value),
                ));
            }
        }
        layered.service = service;
        layered.body = Cow::Borrowed(body);
        Ok(layered)
    }

    /// Whether this is the MSNP24 form (with outer headers).
    pub fn is_msnp24(&self) -> bool {
        self.outer.is_some()
    }

    /// The `To:` of the routing block.
    pub fn to(&self) -> Option<&str> {
        self.routing.get("To")
    }

    /// The `From:` of the routing block.
    pub fn from(&self) -> Option<&str> {
        self.routing.get("From")
    }

    /// The `Message-Type:` of the service block.
    pub fn message_type(&self) -> Option<&str> {
        self.service.get("Message-Type")
    }

    /// Sets the body and keeps the service block's `Content-Length` equal to its length.
    pub fn set_body(&mut self, body: impl Into<Cow<'a, [u8]>>) {
        self.body = body.into();
        self.service
            .set("Content-Length", self.body.len().to_string());
    }

    /// Writes the layered payload.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(outer) = &self.outer {
            outer.encode(out);
            out.extend_from_slice(b"\r\n");
        }
        for block in [&self.routing, &self.reliability, &self.service] {
            if !block.is_empty() {
                block.encode(out);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(&self.body);
        if self.trailing_crlf {
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The payload as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        self.outer.as_ref().map_or(0, |o| o.encoded_len() + 2)
            + [&self.routing, &self.reliability, &self.service]
                .iter()
                .map(|b| if b.is_empty() { 0 } else { b.encoded_len() + 2 })
                .sum::<usize>()
            + self.body.len()
            + if self.trailing_crlf { 2 } else { 0 }
    }

    /// The same payload owning its data.
    pub fn into_owned(self) -> Layered<'static> {
        Layered {
            outer: self.outer.map(Headers::into_owned),
            routing: self.routing.into_owned(),
            reliability: self.reliability.into_owned(),
            service: self.service.into_owned(),
            body: Cow::Owned(self.body.into_owned()),
            trailing_crlf: self.trailing_crlf,
        }
    }
}

/// A complete header block at `start`; running out of payload is `Missing` at its end.
fn block(payload: &[u8], start: usize) -> Result<(Headers<'_>, usize), Error> {
    match crate::header::parse_block(payload, start, &BLOCK)? {
        Status::Complete(v) => Ok(v),
        Status::Incomplete(_) => Err(Error::new(ErrorKind::Missing, payload.len())),
    }
}

/// A block whose first header is one of `names`.
fn first_is<'a>(
    payload: &'a [u8],
    start: usize,
    names: &[&str],
) -> Result<(Headers<'a>, usize), Error> {
    let (headers, end) = block(payload, start)?;
    match headers.0.first() {
        Some(h) if names.iter().any(|n| h.name.eq_ignore_ascii_case(n)) => Ok((headers, end)),
        Some(_) => Err(Error::new(ErrorKind::Unexpected, start)),
        None => Err(Error::new(ErrorKind::Missing, start)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDG24: &[u8] = b"Registration: R\r\n\r\nRouting: 1.0\r\nTo: 8:bob\r\nFrom: 8:alice;epid={1}\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\nMessage-Type: Text\r\nContent-Type: Text/plain; charset=UTF-8\r\nContent-Length: 2\r\n\r\nhi";

    #[test]
    fn msnp24_layered_round_trips() {
        let l = Layered::parse(SDG24).unwrap();
        assert!(l.is_msnp24());
        assert_eq!(
            (l.to(), l.from(), l.message_type()),
            (Some("8:bob"), Some("8:alice;epid={1}"), Some("Text"))
        );
        assert_eq!(&*l.body, b"hi");
        assert_eq!(l.to_bytes(), SDG24);
        assert_eq!(l.encoded_len(), SDG24.len());
    }

    #[test]
    fn mime_field_without_space_reads_the_same_and_writes_back_as_read() {
        let loose = b"Routing:1.0\r\nTo:  8:bob \r\nFrom:8:alice;epid={1}\r\n\r\nReliability:1.0\r\n\r\nMessaging: 2.0\r\nMessage-Type:Text\r\nContent-Length:2\r\n\r\nhi";
        let l = Layered::parse(loose).unwrap();
        assert_eq!(
            (l.to(), l.from(), l.message_type()),
            (Some("8:bob"), Some("8:alice;epid={1}"), Some("Text"))
        );
        assert_eq!(l.to_bytes(), loose);
    }

    #[test]
    fn msnp21_layered_has_no_outer_block() {
        let wire = &SDG24[19..];
        let l = Layered::parse(wire).unwrap();
        assert!(!l.is_msnp24());
        assert_eq!(l.to_bytes(), wire);
    }

    #[test]
    fn layered_content_length_must_match() {
        let mut wire = SDG24.to_vec();
        wire.push(b'!');
        let e = Layered::parse(&wire).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadLength);
        assert_eq!(&wire[e.offset()..e.offset() + 1], b"2");
    }

    #[test]
    fn layered_blocks_must_come_in_order() {
        let wire = b"\r\nReliability: 1.0\r\n\r\n";
        assert_eq!(
            Layered::parse(wire).unwrap_err(),
            Error::new(ErrorKind::Unexpected, 2)
        );
        assert_eq!(
            Layered::parse(b"\r\nRouting: 1.0\r\n").unwrap_err(),
            Error::new(ErrorKind::Missing, 16)
        );
    }

    #[test]
    fn payload_with_empty_header_block() {
        let p = Payload::parse(b"\r\n<wait>50</wait>").unwrap();
        assert!(p.headers.is_empty());
        assert_eq!(p.body_text(), Some("<wait>50</wait>"));
        assert_eq!(p.to_bytes(), b"\r\n<wait>50</wait>");
    }
}
