//! Typed values of the MSRP headers (RFC 4975 §9, IANA "MSRP Parameters").
//!
//! The framing keeps every value as raw text; each type here reads one value on demand.
//! Errors are [`ErrorKind::BadHeaderValue`] at the first offending byte of the value (at its
//! end when something is missing there). `Display` writes the canonical form, in which the
//! RFC's grammar already has exactly one way to write each value, so a valid value comes
//! back byte for byte.
//!
//! | header | type | example |
//! | --- | --- | --- |
//! | `To-Path`, `From-Path` | [`Path`] of [`Uri`] | `msrp://bob.example.com:12763/kjhd37s2s20w2a;tcp` |
//! | `Byte-Range` | [`ByteRange`] | `1-25/25`, `1-*/*` |
//! | `Status` | [`Status`] | `000 200 OK` |
//! | `Success-Report`, `Failure-Report` | [`Report`] | `yes`, `no`, `partial` |
//! | `Message-ID` | [`message_id`] | `87652491` |
//! | `Content-Type` | [`ContentType`] | `text/plain` |

use core::fmt;
use std::borrow::Cow;

use crate::{Error, ErrorKind};

/// `Content-Type`: the media-type grammar SIP-C and SIP use too.
pub use crate::sipc::header::ContentType;

/// `Byte-Range`: which bytes of the whole message a chunk carries, counted from 1.
///
/// ```text
/// Byte-Range  = range-start "-" range-end "/" total
/// range-start = 1*DIGIT
/// range-end   = 1*DIGIT / "*"        ; "*": not known yet (the chunk may be interrupted)
/// total       = 1*DIGIT / "*"        ; "*": the sender does not know the message's size
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ByteRange {
    /// The position of the chunk's first byte in the message (1 for the first chunk).
    pub start: u64,
    /// The position of its last byte, `None` for `*`.
    pub end: Option<u64>,
    /// The message's size, `None` for `*`.
    pub total: Option<u64>,
}

/// `Status` (in REPORT requests): the outcome of delivering the bytes a report covers.
///
/// ```text
/// Status    = namespace SP status-code [ SP text-reason ]
/// namespace = 3DIGIT               ; "000" for the codes of RFC 4975
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Status<'a> {
    /// The namespace (0 for `000`).
    pub namespace: u16,
    /// The status code (200, 413, 481, …).
    pub code: u16,
    /// The reason text, if a space follows the code.
    pub reason: Option<Cow<'a, str>>,
}

/// A report request mode: `Success-Report: yes | no`, `Failure-Report: yes | no | partial`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// `no`: no report wanted (for `Failure-Report`, not even a response to the SEND).
    No,
    /// `partial` (Failure-Report only): only failure responses, no 200.
    Partial,
    /// `yes`.
    Yes,
}

/// A `To-Path` or `From-Path`: one or more MSRP URIs, separated by single spaces, the
/// destination (or origin) last.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Path<'a>(pub Vec<Uri<'a>>);

/// An MSRP URI.
///
/// ```text
/// MSRP-URI    = msrp-scheme "://" authority [ "/" session-id ] ";" transport *( ";" URI-parameter )
/// msrp-scheme = "msrp" / "msrps"
/// session-id  = 1*( unreserved / "+" / "=" / "/" )
/// transport   = "tcp" / 1*ALPHANUM
/// URI-parameter = token [ "=" token ]
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Uri<'a> {
    /// `msrps` (TLS) rather than `msrp`.
    pub secure: bool,
    /// `[userinfo "@"] host [":" port]` as written.
    pub authority: Cow<'a, str>,
    /// The session id after the `/`, if any.
    pub session: Option<Cow<'a, str>>,
    /// The transport (`tcp`).
    pub transport: Cow<'a, str>,
    /// Further `;name[=value]` parameters, each as written without its `;`.
    pub params: Vec<Cow<'a, str>>,
}

/// A `Message-ID` value: an `ident` (4–32 characters).
pub fn message_id(value: &str) -> Result<&str, Error> {
    super::check_ident(value.as_bytes())
        .map(|()| value)
        .map_err(bad)
}

impl ByteRange {
    /// A range from its three parts.
    pub const fn new(start: u64, end: Option<u64>, total: Option<u64>) -> Self {
        Self { start, end, total }
    }

    /// Parses a `Byte-Range` value.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let (start, mut pos) = number(b, 0)?;
        if b.get(pos) != Some(&b'-') {
            return Err(bad(pos));
        }
        let end = star_or_number(b, pos + 1)?;
        pos = end.1;
        if b.get(pos) != Some(&b'/') {
            return Err(bad(pos));
        }
        let total = star_or_number(b, pos + 1)?;
        if total.1 != b.len() {
            return Err(bad(total.1));
        }
        Ok(Self {
            start,
            end: end.0,
            total: total.0,
        })
    }

    /// How many bytes the range says the chunk holds, when its end is known.
    pub fn len(&self) -> Option<u64> {
        self.end
            .map(|end| end.saturating_add(1).saturating_sub(self.start))
    }

    /// Whether the range holds no bytes (`1-0/0`, a body-less SEND).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Whether the range is consistent with a chunk of `body_len` bytes: the start is at
    /// least 1, a known end is `start + body_len - 1`, and a known total is at least the end
    /// (docs/protocols/sip.md §6.3).
    pub fn fits(&self, body_len: u64) -> bool {
        let end_ok = self.end.is_none_or(|_| self.len() == Some(body_len));
        let last = self.start.saturating_add(body_len).saturating_sub(1);
        let total_ok = self.total.is_none_or(|t| t >= last);
        self.start >= 1 && end_ok && total_ok
    }
}

impl<'a> Status<'a> {
    /// A status in namespace `000`.
    pub fn new(code: u16, reason: Option<Cow<'a, str>>) -> Self {
        Self {
            namespace: 0,
            code,
            reason,
        }
    }

    /// Parses a `Status` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let namespace = three_digits(b, 0)?;
        if b.get(3) != Some(&b' ') {
            return Err(bad(3));
        }
        let code = three_digits(b, 4)?;
        let reason = match b.get(7) {
            None => None,
            Some(b' ') => {
                let text = value.get(8..).unwrap_or_default();
                if let Some(i) = text
                    .bytes()
                    .position(|c| (c < 0x20 && c != b'\t') || c == 0x7f)
                {
                    return Err(bad(8 + i));
                }
                Some(Cow::Borrowed(text))
            }
            Some(_) => return Err(bad(7)),
        };
        Ok(Self {
            namespace,
            code,
            reason,
        })
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> Status<'static> {
        Status {
            namespace: self.namespace,
            code: self.code,
            reason: self.reason.map(|r| Cow::Owned(r.into_owned())),
        }
    }
}

impl Report {
    /// Parses a `Success-Report` value (`yes` / `no`).
    pub fn parse_success(value: &str) -> Result<Self, Error> {
        match value {
            "yes" => Ok(Self::Yes),
            "no" => Ok(Self::No),
            _ => Err(bad(0)),
        }
    }

    /// Parses a `Failure-Report` value (`yes` / `no` / `partial`).
    pub fn parse_failure(value: &str) -> Result<Self, Error> {
        match value {
            "partial" => Ok(Self::Partial),
            other => Self::parse_success(other),
        }
    }

    /// The value as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::No => "no",
            Self::Partial => "partial",
            Self::Yes => "yes",
        }
    }
}

impl<'a> Path<'a> {
    /// Parses a `To-Path` or `From-Path` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let mut uris = Vec::new();
        let mut at = 0;
        for part in value.split(' ') {
            uris.push(Uri::parse(part).map_err(|e| e.shifted(at))?);
            at += part.len() + 1;
        }
        Ok(Self(uris))
    }

    /// The last URI: the destination of a To-Path, the origin of a From-Path.
    pub fn last(&self) -> Option<&Uri<'a>> {
        self.0.last()
    }

    /// The same path owning its text.
    pub fn into_owned(self) -> Path<'static> {
        Path(self.0.into_iter().map(Uri::into_owned).collect())
    }
}

impl<'a> Uri<'a> {
    /// Parses one MSRP URI.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let (secure, rest) = if value.starts_with("msrps://") {
            (true, 8)
        } else if value.starts_with("msrp://") {
            (false, 7)
        } else {
            let common = |scheme: &[u8]| b.iter().zip(scheme).take_while(|(a, b)| a == b).count();
            return Err(bad(common(b"msrp://").max(common(b"msrps://"))));
        };
        let auth_end = b
            .iter()
            .skip(rest)
            .position(|&c| c == b'/' || c == b';')
            .map_or(b.len(), |i| rest + i);
        if auth_end == rest {
            return Err(bad(rest));
        }
        if let Some(i) = b
            .get(rest..auth_end)
            .unwrap_or_default()
            .iter()
            .position(|&c| !is_authority(c))
        {
            return Err(bad(rest + i));
        }
        let (session, session_end) = if b.get(auth_end) == Some(&b'/') {
            let from = auth_end + 1;
            let end = b
                .iter()
                .skip(from)
                .position(|&c| c == b';')
                .map_or(b.len(), |i| from + i);
            if end == from {
                return Err(bad(from));
            }
            if let Some(i) = b
                .get(from..end)
                .unwrap_or_default()
                .iter()
                .position(|&c| !is_session(c))
            {
                return Err(bad(from + i));
            }
            (Some(Cow::Borrowed(slice(value, from, end))), end)
        } else {
            (None, auth_end)
        };
        if b.get(session_end) != Some(&b';') {
            return Err(bad(session_end));
        }
        let mut parts = Vec::new();
        let mut at = session_end + 1;
        for part in slice(value, at, value.len()).split(';') {
            let ok = match part.split_once('=') {
                Some((n, v)) => is_uri_token(n) && is_uri_token(v),
                None => is_uri_token(part),
            };
            if !ok {
                let i = part
                    .bytes()
                    .position(|c| !crate::sip::is_token(c) && c != b'=')
                    .unwrap_or(part.len());
                return Err(bad(at + i));
            }
            parts.push((at, at + part.len()));
            at += part.len() + 1;
        }
        let mut parts = parts
            .into_iter()
            .map(|(a, z)| Cow::Borrowed(slice(value, a, z)));
        let transport = parts.next().ok_or(bad(session_end + 1))?;
        if !transport.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(session_end + 1));
        }
        Ok(Self {
            secure,
            authority: Cow::Borrowed(slice(value, rest, auth_end)),
            session,
            transport,
            params: parts.collect(),
        })
    }

    /// The port of the authority, if written.
    pub fn port(&self) -> Option<u16> {
        let (_, port) = self.authority.rsplit_once(':')?;
        if port.ends_with(']') {
            return None;
        }
        port.parse().ok()
    }

    /// The same URI owning its text.
    pub fn into_owned(self) -> Uri<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Uri {
            secure: self.secure,
            authority: own(self.authority),
            session: self.session.map(own),
            transport: own(self.transport),
            params: self.params.into_iter().map(own).collect(),
        }
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-", self.start)?;
        match self.end {
            Some(end) => write!(f, "{end}/")?,
            None => f.write_str("*/")?,
        }
        match self.total {
            Some(total) => write!(f, "{total}"),
            None => f.write_str("*"),
        }
    }
}

impl fmt::Display for Status<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03} {:03}", self.namespace, self.code)?;
        match &self.reason {
            Some(r) => write!(f, " {r}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, uri) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            fmt::Display::fmt(uri, f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "msrps://" } else { "msrp://" })?;
        f.write_str(&self.authority)?;
        if let Some(s) = &self.session {
            write!(f, "/{s}")?;
        }
        write!(f, ";{}", self.transport)?;
        for p in &self.params {
            write!(f, ";{p}")?;
        }
        Ok(())
    }
}

fn number(b: &[u8], from: usize) -> Result<(u64, usize), Error> {
    let end = b
        .iter()
        .skip(from)
        .position(|c| !c.is_ascii_digit())
        .map_or(b.len(), |i| from + i);
    let n = crate::scan::decimal(b.get(from..end).unwrap_or_default(), 20).ok_or(bad(from))?;
    Ok((n, end))
}

fn star_or_number(b: &[u8], from: usize) -> Result<(Option<u64>, usize), Error> {
    if b.get(from) == Some(&b'*') {
        return Ok((None, from + 1));
    }
    number(b, from).map(|(n, end)| (Some(n), end))
}

fn three_digits(b: &[u8], from: usize) -> Result<u16, Error> {
    let digits = b
        .get(from..from + 3)
        .filter(|d| d.iter().all(u8::is_ascii_digit))
        .ok_or(bad(from))?;
    Ok(digits.iter().fold(0, |n, &d| n * 10 + u16::from(d - b'0')))
}

/// Authority bytes (RFC 3986 userinfo, host, port): unreserved, sub-delims, `%`, `:`, `@`,
/// `[`, `]`.
fn is_authority(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'='
                | b'%'
                | b':'
                | b'@'
                | b'['
                | b']'
        )
}

/// `session-id = 1*( unreserved / "+" / "=" / "/" )`.
fn is_session(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'=' | b'/')
}

fn is_uri_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(crate::sip::is_token)
}

fn slice(s: &str, from: usize, to: usize) -> &str {
    s.get(from..to).unwrap_or_default()
}

fn bad(offset: usize) -> Error {
    Error::new(ErrorKind::BadHeaderValue, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_range_forms() {
        for (text, range) in [
            ("1-25/25", ByteRange::new(1, Some(25), Some(25))),
            ("1-*/*", ByteRange::new(1, None, None)),
            ("26-50/*", ByteRange::new(26, Some(50), None)),
            ("1-0/0", ByteRange::new(1, Some(0), Some(0))),
        ] {
            assert_eq!(ByteRange::parse(text), Ok(range));
            assert_eq!(range.to_string(), text);
        }
        assert!(ByteRange::new(1, Some(25), Some(25)).fits(25));
        assert!(ByteRange::new(26, Some(50), Some(50)).fits(25));
        assert!(ByteRange::new(1, Some(0), Some(0)).is_empty());
        assert!(!ByteRange::new(1, Some(25), Some(24)).fits(25));
        assert!(!ByteRange::new(1, Some(25), None).fits(24));
        assert!(!ByteRange::new(0, None, None).fits(1));
        assert_eq!(ByteRange::parse("1-25"), Err(bad(4)));
        assert_eq!(ByteRange::parse("1 -25/25"), Err(bad(1)));
        assert_eq!(ByteRange::parse("*-25/25"), Err(bad(0)));
        assert_eq!(ByteRange::parse("1-25/25 "), Err(bad(7)));
    }

    #[test]
    fn status_forms() {
        let s = Status::parse("000 200 OK").unwrap();
        assert_eq!(
            (s.namespace, s.code, s.reason.as_deref()),
            (0, 200, Some("OK"))
        );
        assert_eq!(s.to_string(), "000 200 OK");
        assert_eq!(Status::parse("000 413").unwrap().to_string(), "000 413");
        assert_eq!(Status::parse("00 200"), Err(bad(0)));
        assert_eq!(Status::parse("000  200"), Err(bad(4)));
        assert_eq!(Status::parse("000 200OK"), Err(bad(7)));
    }

    #[test]
    fn report_modes() {
        assert_eq!(Report::parse_success("yes"), Ok(Report::Yes));
        assert_eq!(Report::parse_success("partial"), Err(bad(0)));
        assert_eq!(Report::parse_failure("partial"), Ok(Report::Partial));
        assert_eq!(Report::parse_failure("No"), Err(bad(0)));
    }

    #[test]
    fn paths_and_uris() {
        let text = "msrp://relay.example.net:2855/jfdks;tcp msrps://bob@[2001:db8::1]:12763/kjhd37s2s20w2a;tcp;x=1";
        let p = Path::parse(text).unwrap();
        assert_eq!(p.0.len(), 2);
        let last = p.last().unwrap();
        assert!(last.secure);
        assert_eq!(last.authority, "bob@[2001:db8::1]:12763");
        assert_eq!(last.port(), Some(12763));
        assert_eq!(last.session.as_deref(), Some("kjhd37s2s20w2a"));
        assert_eq!(last.params, ["x=1"]);
        assert_eq!(p.to_string(), text);
        assert_eq!(Uri::parse("msrp://a.example;tcp").unwrap().session, None);
        assert_eq!(Uri::parse("sip:a").unwrap_err(), bad(0));
        assert_eq!(Uri::parse("msrp:/a").unwrap_err(), bad(6));
        assert_eq!(Uri::parse("msrp://a/s").unwrap_err(), bad(10));
        assert_eq!(Uri::parse("msrp://a/;tcp").unwrap_err(), bad(9));
        assert_eq!(Uri::parse("msrp://a b/s;tcp").unwrap_err(), bad(8));
        assert_eq!(Uri::parse("msrp://a/s;").unwrap_err(), bad(11));
        assert_eq!(
            Path::parse("msrp://a/s;tcp  msrp://b/t;tcp").unwrap_err(),
            bad(15)
        );
    }

    #[test]
    fn message_ids() {
        assert_eq!(message_id("87652491"), Ok("87652491"));
        assert_eq!(message_id("876"), Err(bad(3)));
        assert_eq!(message_id("8765 2491"), Err(bad(4)));
    }
}
