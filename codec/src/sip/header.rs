//! Header names and typed header values of SIP (RFC 3261 §7.3, §20, §25).
//!
//! The framing keeps every value as raw text; the types here read one value each, on
//! demand. Every type has `parse(value)` with error offsets relative to the value
//! ([`ErrorKind::BadHeaderValue`] at the first offending byte, or at the end of the value
//! when something is missing there; [`content_length`] reports [`ErrorKind::BadLength`]).
//! `Display` writes the canonical form (single spaces, `;name=value` parameters); a value
//! already written that way comes back byte for byte, and `T::parse(&v.to_string())` gives
//! `v` back for every value `v`.
//!
//! | header | compact | type |
//! | --- | --- | --- |
//! | `CSeq` | | [`CSeq`]: `1 MESSAGE` |
//! | `Via` | `v` | [`Via`]: `SIP/2.0/TCP 127.0.0.1:5071;branch=z9hG4bK-1` |
//! | `From`, `To`, `Contact` | `f`, `t`, `m` | [`NameAddr`]: `"alice" <sip:alice@a.example>;tag=1` |
//! | `Event`, `Subscription-State` | `o` | [`Value`]: `message-summary`, `active;expires=3600` |
//! | `Content-Type` | `c` | [`ContentType`]: `application/simple-message-summary` |
//! | `Content-Length` | `l` | [`content_length`]: `42` |
//! | `Expires` | | [`delta_seconds`]: `3600` |
//!
//! Names: [`full_name`] maps the compact forms of RFC 3261 §7.3.3 and the later RFCs that
//! the IANA header registry lists to their long names; [`same_name`] compares two names the
//! way SIP does (ignoring case, compact = long).

use core::fmt;
use std::borrow::Cow;

use super::{Method, is_token};
use crate::{Error, ErrorKind};

/// `Content-Type` values: the media-type grammar is the one SIP-C uses
/// (`type "/" subtype *( ";" name "=" ( token / quoted-string ) )`).
pub use crate::sipc::header::ContentType;

/// `CSeq`: a sequence number and the method of the request it belongs to. A response
/// echoes its request's CSeq.
///
/// ```text
/// CSeq = 1*DIGIT LWS Method        ; the number fits in 32 bits (RFC 3261 §8.1.1.5)
/// ```
///
/// Canonical form: no leading zeros, one space.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct CSeq<'a> {
    /// The sequence number.
    pub number: u32,
    /// The method token as written.
    pub method: Method<'a>,
}

/// One `Via` element.
///
/// ```text
/// via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
/// sent-protocol = protocol-name SLASH protocol-version SLASH transport   ; SIP/2.0/TCP
/// sent-by       = host [ COLON port ]                                    ; host: name, IPv4 or [IPv6]
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Via<'a> {
    /// `SIP`.
    pub protocol: Cow<'a, str>,
    /// `2.0`.
    pub version: Cow<'a, str>,
    /// `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, … as written.
    pub transport: Cow<'a, str>,
    /// The host of sent-by, IPv6 references with their brackets.
    pub host: Cow<'a, str>,
    /// The port of sent-by, if written.
    pub port: Option<u16>,
    /// `branch`, `received`, `rport`, … in order.
    pub params: Vec<Param<'a>>,
}

/// A `From`, `To` or `Contact` element: a URI, perhaps with a display name, and header
/// parameters (`tag`, `expires`, `q`).
///
/// ```text
/// ( name-addr / addr-spec ) *( SEMI generic-param )
/// name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
/// display-name = *( token LWS ) / quoted-string
/// ```
///
/// In the `addr-spec` form the URI ends at the first `;` (what follows are header
/// parameters, RFC 3261 §20.10).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct NameAddr<'a> {
    /// The display name as written (a quoted-string keeps its quotes).
    pub display: Option<Cow<'a, str>>,
    /// The URI (`sip:alice@127.0.0.1:5080`).
    pub uri: Cow<'a, str>,
    /// Whether the URI is in angle brackets.
    pub bracketed: bool,
    /// Header parameters in order.
    pub params: Vec<Param<'a>>,
}

/// A token with parameters: `Event` (`message-summary;id=1`), `Subscription-State`
/// (`active;expires=3600`).
///
/// ```text
/// value = token *( SEMI generic-param )
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Value<'a> {
    /// The token (`message-summary`, `active`).
    pub value: Cow<'a, str>,
    /// Parameters in order.
    pub params: Vec<Param<'a>>,
}

/// One `;name[=value]` parameter.
///
/// ```text
/// generic-param = token [ EQUAL gen-value ]
/// gen-value     = token / host / quoted-string
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Param<'a> {
    /// The name as written (`tag`, `branch`).
    pub name: Cow<'a, str>,
    /// The value as written, a quoted-string with its quotes; `None` for a bare name
    /// (`;rport`, `;lr`).
    pub value: Option<Cow<'a, str>>,
}

/// The long name of a compact header name (`i` → `Call-ID`, either case); any other name
/// comes back as given.
pub fn full_name(name: &str) -> &str {
    COMPACT
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(name))
        .map_or(name, |(_, long)| long)
}

/// The compact form of a long header name (`Call-ID` → `i`, ignoring case), if it has one.
pub fn compact_name(name: &str) -> Option<&'static str> {
    COMPACT
        .iter()
        .find(|(_, long)| long.eq_ignore_ascii_case(name))
        .map(|(short, _)| *short)
}

/// Whether two header names name the same header (ignoring case, compact = long).
///
/// Every header lookup calls this once per header of the message, so it avoids the compact
/// table unless one name is a single character: compact names are single letters and the
/// table maps them one-to-one to long names, so names of equal length match exactly when
/// they are equal, and names of other lengths only through a compact form.
pub fn same_name(a: &str, b: &str) -> bool {
    match (a.len(), b.len()) {
        (x, y) if x == y => a.eq_ignore_ascii_case(b),
        (1, _) => full_name(a).eq_ignore_ascii_case(b),
        (_, 1) => a.eq_ignore_ascii_case(full_name(b)),
        _ => false,
    }
}

/// Splits a list header value at commas outside quoted-strings and angle brackets, and
/// trims the white space around each element (RFC 3261 §7.3.1). An empty or blank value
/// is an empty list; an empty element is an error.
pub fn split_list(value: &str) -> Result<Vec<&str>, Error> {
    let b = value.as_bytes();
    if b.iter().all(|&c| is_wsp(c)) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    let mut angle = false;
    for (i, &c) in b.iter().enumerate() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' if !angle => quoted = true,
            b'<' if !angle => angle = true,
            b'>' if angle => angle = false,
            b',' if !angle => {
                out.push(element(value, start, i)?);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || angle {
        return Err(bad(value.len()));
    }
    out.push(element(value, start, value.len())?);
    Ok(out)
}

/// A `Content-Length` value: `1*DIGIT`, with the white space around it that `HCOLON` and
/// the end of the line allow. Errors are [`ErrorKind::BadLength`].
pub fn content_length(value: &str) -> Result<u64, Error> {
    digits(value, 20, ErrorKind::BadLength)
}

/// A `delta-seconds` value (`Expires`, `Min-Expires`): `1*DIGIT` that fits in 32 bits.
pub fn delta_seconds(value: &str) -> Result<u32, Error> {
    let n = digits(value, 10, ErrorKind::BadHeaderValue)?;
    u32::try_from(n).map_err(|_| bad(value.len() - value.trim_start_matches(is_wsp_char).len()))
}

impl<'a> CSeq<'a> {
    /// A CSeq from a number and a method.
    pub fn new(number: u32, method: impl Into<Method<'a>>) -> Self {
        Self {
            number,
            method: method.into(),
        }
    }

    /// Parses a `CSeq` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let end = run(b, 0, |c| c.is_ascii_digit());
        if end == 0 {
            return Err(bad(0));
        }
        if end > 10 {
            return Err(bad(10));
        }
        let number = value
            .get(..end)
            .and_then(|d| d.parse::<u32>().ok())
            .ok_or(bad(0))?;
        let method_start = run(b, end, is_wsp);
        if method_start == end {
            return Err(bad(end));
        }
        let method = value.get(method_start..).unwrap_or_default();
        if let Some(i) = method.bytes().position(|c| !is_token(c)) {
            return Err(bad(method_start + i));
        }
        let method = Method::new(method).ok_or(bad(method_start))?;
        Ok(Self { number, method })
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> CSeq<'static> {
        CSeq {
            number: self.number,
            method: self.method.into_owned(),
        }
    }
}

impl<'a> Via<'a> {
    /// Parses one `Via` element (split a multi-valued line with [`split_list`] first).
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let mut pos = 0;
        let mut parts = [(0, 0); 3];
        for (i, part) in parts.iter_mut().enumerate() {
            if i > 0 {
                pos = run(b, pos, is_wsp);
                if b.get(pos) != Some(&b'/') {
                    return Err(bad(pos));
                }
                pos = run(b, pos + 1, is_wsp);
            }
            let end = run(b, pos, is_token);
            if end == pos {
                return Err(bad(pos));
            }
            *part = (pos, end);
            pos = end;
        }
        let host_start = run(b, pos, is_wsp);
        if host_start == pos {
            return Err(bad(pos));
        }
        let (host_end, port, rest) = host_port(value, host_start)?;
        let params = params(value, rest)?;
        let [protocol, version, transport] = parts.map(|(a, z)| Cow::Borrowed(slice(value, a, z)));
        Ok(Self {
            protocol,
            version,
            transport,
            host: Cow::Borrowed(slice(value, host_start, host_end)),
            port,
            params,
        })
    }

    /// The `branch` parameter (`z9hG4bK…` for RFC 3261 transactions).
    pub fn branch(&self) -> Option<&str> {
        param(&self.params, "branch")
    }

    /// The value of parameter `name` as written (ignoring the name's case).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> Via<'static> {
        Via {
            protocol: own(self.protocol),
            version: own(self.version),
            transport: own(self.transport),
            host: own(self.host),
            port: self.port,
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }
}

impl<'a> NameAddr<'a> {
    /// A bracketed URI without display name or parameters (`<sip:bob@example.com>`).
    pub fn new(uri: impl Into<Cow<'a, str>>) -> Self {
        Self {
            display: None,
            uri: uri.into(),
            bracketed: true,
            params: Vec::new(),
        }
    }

    /// Parses a `From`, `To` or one `Contact` element.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let start = run(b, 0, is_wsp);
        let lt = if b.get(start) == Some(&b'"') {
            let end = quoted_end(b, start)?;
            let lt = run(b, end, is_wsp);
            if b.get(lt) != Some(&b'<') {
                return Err(bad(lt));
            }
            Some((Some((start, end)), lt))
        } else {
            match b.iter().position(|&c| c == b'<') {
                Some(lt) => {
                    let display = slice(value, start, lt).trim_end_matches(is_wsp_char);
                    if let Some(i) = display.bytes().position(|c| !is_token(c) && !is_wsp(c)) {
                        return Err(bad(start + i));
                    }
                    let display = (!display.is_empty()).then_some((start, start + display.len()));
                    Some((display, lt))
                }
                None => None,
            }
        };
        let (display, uri, rest, bracketed) = match lt {
            Some((display, lt)) => {
                let Some(gt) = b.iter().skip(lt).position(|&c| c == b'>') else {
                    return Err(bad(value.len()));
                };
                (display, (lt + 1, lt + gt), lt + gt + 1, true)
            }
            None => {
                let end = b
                    .iter()
                    .skip(start)
                    .position(|&c| c == b';' || is_wsp(c))
                    .map_or(value.len(), |i| start + i);
                (None, (start, end), end, false)
            }
        };
        check_uri(value, uri.0, uri.1)?;
        let params = params(value, rest)?;
        Ok(Self {
            display: display.map(|(a, z)| Cow::Borrowed(slice(value, a, z))),
            uri: Cow::Borrowed(slice(value, uri.0, uri.1)),
            bracketed,
            params,
        })
    }

    /// The `tag` parameter (dialog identification, RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        param(&self.params, "tag")
    }

    /// The URI as a typed `sip:`/`sips:` [`Uri`](super::Uri); errors are offsets into the URI.
    pub fn sip_uri(&self, limits: &super::uri::Limits) -> Result<super::Uri<'_>, Error> {
        super::Uri::parse_with(&self.uri, limits)
    }

    /// The value of parameter `name` as written (ignoring the name's case).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> NameAddr<'static> {
        NameAddr {
            display: self.display.map(own),
            uri: own(self.uri),
            bracketed: self.bracketed,
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }
}

impl<'a> Value<'a> {
    /// Parses `token *( SEMI generic-param )`.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let start = run(b, 0, is_wsp);
        let end = run(b, start, is_token);
        if end == start {
            return Err(bad(start));
        }
        Ok(Self {
            value: Cow::Borrowed(slice(value, start, end)),
            params: params(value, end)?,
        })
    }

    /// The value of parameter `name` as written (ignoring the name's case).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> Value<'static> {
        Value {
            value: own(self.value),
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }
}

impl<'a> Param<'a> {
    /// A parameter from a name and an optional value (written as given).
    pub fn new(name: impl Into<Cow<'a, str>>, value: Option<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }

    /// The value with the quotes and backslash escapes of a quoted-string removed.
    pub fn unquoted(&self) -> Option<Cow<'_, str>> {
        let value = self.value.as_deref()?;
        let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
            return Some(Cow::Borrowed(value));
        };
        if !inner.contains('\\') {
            return Some(Cow::Borrowed(inner));
        }
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            out.push(if c == '\\' {
                chars.next().unwrap_or(c)
            } else {
                c
            });
        }
        Some(Cow::Owned(out))
    }

    /// The same parameter owning its text.
    pub fn into_owned(self) -> Param<'static> {
        Param {
            name: own(self.name),
            value: self.value.map(own),
        }
    }
}

impl fmt::Display for CSeq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.number, self.method)
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol, self.version, self.transport, self.host
        )?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write_params(f, &self.params)
    }
}

impl fmt::Display for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(display) = &self.display {
            write!(f, "{display} ")?;
        }
        if self.bracketed || self.display.is_some() {
            write!(f, "<{}>", self.uri)?;
        } else {
            f.write_str(&self.uri)?;
        }
        write_params(f, &self.params)
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)?;
        write_params(f, &self.params)
    }
}

fn write_params(f: &mut fmt::Formatter<'_>, params: &[Param<'_>]) -> fmt::Result {
    for p in params {
        write!(f, ";{}", p.name)?;
        if let Some(v) = &p.value {
            write!(f, "={v}")?;
        }
    }
    Ok(())
}

/// `*( SEMI generic-param )` from `pos` to the end of `value`, with SWS around `;` and `=`.
fn params(value: &str, mut pos: usize) -> Result<Vec<Param<'_>>, Error> {
    let b = value.as_bytes();
    let mut out = Vec::new();
    loop {
        pos = run(b, pos, is_wsp);
        match b.get(pos) {
            None => return Ok(out),
            Some(b';') => {}
            Some(_) => return Err(bad(pos)),
        }
        let name_start = run(b, pos + 1, is_wsp);
        let name_end = run(b, name_start, is_token);
        if name_end == name_start {
            return Err(bad(name_start));
        }
        pos = run(b, name_end, is_wsp);
        let param_value = if b.get(pos) == Some(&b'=') {
            let start = run(b, pos + 1, is_wsp);
            let end = if b.get(start) == Some(&b'"') {
                quoted_end(b, start)?
            } else {
                run(b, start, |c| is_token(c) || matches!(c, b':' | b'[' | b']'))
            };
            if end == start {
                return Err(bad(start));
            }
            pos = end;
            Some(Cow::Borrowed(slice(value, start, end)))
        } else {
            None
        };
        out.push(Param {
            name: Cow::Borrowed(slice(value, name_start, name_end)),
            value: param_value,
        });
    }
}

/// `host [ ":" port ]` at `start`: the host's end, the port and where the rest begins.
fn host_port(value: &str, start: usize) -> Result<(usize, Option<u16>, usize), Error> {
    let b = value.as_bytes();
    let host_end = if b.get(start) == Some(&b'[') {
        let close = run(b, start + 1, |c| {
            c.is_ascii_hexdigit() || c == b':' || c == b'.'
        });
        if b.get(close) != Some(&b']') || close == start + 1 {
            return Err(bad(close));
        }
        close + 1
    } else {
        run(b, start, |c| {
            c.is_ascii_alphanumeric() || c == b'-' || c == b'.'
        })
    };
    if host_end == start {
        return Err(bad(start));
    }
    let colon = run(b, host_end, is_wsp);
    if b.get(colon) != Some(&b':') {
        return Ok((host_end, None, host_end));
    }
    let port_start = run(b, colon + 1, is_wsp);
    let port_end = run(b, port_start, |c| c.is_ascii_digit());
    let port = slice(value, port_start, port_end)
        .parse::<u16>()
        .map_err(|_| bad(port_start))?;
    if port_end - port_start > 5 {
        return Err(bad(port_start));
    }
    Ok((host_end, Some(port), port_end))
}

/// `scheme ":" 1*( visible ASCII except "<" ">" )` between `start` and `end`.
fn check_uri(value: &str, start: usize, end: usize) -> Result<(), Error> {
    let uri = slice(value, start, end).as_bytes();
    if !uri.first().is_some_and(u8::is_ascii_alphabetic) {
        return Err(bad(start));
    }
    let scheme = run(uri, 0, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')
    });
    if uri.get(scheme) != Some(&b':') {
        return Err(bad(start + scheme));
    }
    if uri.len() == scheme + 1 {
        return Err(bad(end));
    }
    match uri
        .iter()
        .position(|&c| !c.is_ascii_graphic() || c == b'<' || c == b'>')
    {
        Some(i) => Err(bad(start + i)),
        None => Ok(()),
    }
}

/// The end (just past the closing quote) of the quoted-string that starts at `start`.
fn quoted_end(b: &[u8], start: usize) -> Result<usize, Error> {
    let mut i = start + 1;
    loop {
        match b.get(i) {
            None => return Err(bad(b.len())),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') if b.get(i + 1).is_some() => i += 2,
            Some(c) if *c < 0x20 && *c != b'\t' => return Err(bad(i)),
            Some(_) => i += 1,
        }
    }
}

/// `1*DIGIT` of at most `max` digits with white space around it.
fn digits(value: &str, max: usize, kind: ErrorKind) -> Result<u64, Error> {
    let b = value.as_bytes();
    let start = run(b, 0, is_wsp);
    let end = run(b, start, |c| c.is_ascii_digit());
    if end == start {
        return Err(Error::new(kind, start));
    }
    if end - start > max {
        return Err(Error::new(kind, start + max));
    }
    let tail = run(b, end, is_wsp);
    if tail != b.len() {
        return Err(Error::new(kind, if tail == end { end } else { tail }));
    }
    slice(value, start, end)
        .parse()
        .map_err(|_| Error::new(kind, start))
}

fn element(value: &str, start: usize, end: usize) -> Result<&str, Error> {
    let text = slice(value, start, end);
    let trimmed = text.trim_matches(is_wsp_char);
    if trimmed.is_empty() {
        return Err(bad(end));
    }
    Ok(trimmed)
}

fn param<'s>(params: &'s [Param<'_>], name: &str) -> Option<&'s str> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .and_then(|p| p.value.as_deref())
}

fn run(b: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    b.iter()
        .skip(from)
        .position(|&c| !class(c))
        .map_or(b.len().max(from), |i| from + i)
}

fn slice(s: &str, from: usize, to: usize) -> &str {
    s.get(from..to).unwrap_or_default()
}

fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

fn bad(offset: usize) -> Error {
    Error::new(ErrorKind::BadHeaderValue, offset)
}

const fn is_wsp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_wsp_char(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Compact forms: RFC 3261 §7.3.3 (c e f i k l m s t v), RFC 6665 (o u), RFC 3515 (r),
/// RFC 3892 (b), RFC 3841 (a d j), RFC 4028 (x), RFC 8224 (y), RFC 4474 (n, obsoleted).
const COMPACT: [(&str, &str); 20] = [
    ("a", "Accept-Contact"),
    ("b", "Referred-By"),
    ("c", "Content-Type"),
    ("d", "Request-Disposition"),
    ("e", "Content-Encoding"),
    ("f", "From"),
    ("i", "Call-ID"),
    ("j", "Reject-Contact"),
    ("k", "Supported"),
    ("l", "Content-Length"),
    ("m", "Contact"),
    ("n", "Identity-Info"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("s", "Subject"),
    ("t", "To"),
    ("u", "Allow-Events"),
    ("v", "Via"),
    ("x", "Session-Expires"),
    ("y", "Identity"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_both_ways() {
        assert_eq!(full_name("i"), "Call-ID");
        assert_eq!(full_name("L"), "Content-Length");
        assert_eq!(full_name("X-Custom"), "X-Custom");
        assert_eq!(compact_name("call-id"), Some("i"));
        assert_eq!(compact_name("CSeq"), None);
        assert!(same_name("v", "VIA"));
        assert!(same_name("Content-Length", "l"));
        assert!(!same_name("t", "f"));
    }

    #[test]
    fn same_name_agrees_with_the_full_names() {
        // The shortcut in `same_name` relies on the table's shape.
        for (i, (short, long)) in COMPACT.iter().enumerate() {
            assert_eq!(short.len(), 1);
            assert!(long.len() > 1);
            for (other_short, other_long) in &COMPACT[i + 1..] {
                assert!(!short.eq_ignore_ascii_case(other_short));
                assert!(!long.eq_ignore_ascii_case(other_long));
            }
        }
        let mut names = vec!["", "g", "Z", "CSeq", "cseq", "X-Custom", "Vi", "Tos"];
        for (short, long) in COMPACT {
            names.extend([short, long]);
        }
        let upper: Vec<String> = names.iter().map(|n| n.to_ascii_uppercase()).collect();
        names.extend(upper.iter().map(String::as_str));
        for a in &names {
            for b in &names {
                let expected = full_name(a).eq_ignore_ascii_case(full_name(b));
                assert_eq!(same_name(a, b), expected, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn split_list_respects_quotes_and_brackets() {
        assert_eq!(
            split_list(r#""Doe, \"J\"" <sip:a@b;x=1,2>;q=0.5 ,  <sip:c@d>"#).unwrap(),
            [r#""Doe, \"J\"" <sip:a@b;x=1,2>;q=0.5"#, "<sip:c@d>"]
        );
        assert_eq!(
            split_list("INVITE,ACK , BYE").unwrap(),
            ["INVITE", "ACK", "BYE"]
        );
        assert_eq!(split_list("  ").unwrap(), Vec::<&str>::new());
        assert_eq!(split_list("a,,b").unwrap_err(), bad(2));
        assert_eq!(split_list("a,").unwrap_err(), bad(2));
        assert_eq!(split_list("\"a, b").unwrap_err(), bad(5));
        assert_eq!(split_list("<sip:a, b").unwrap_err(), bad(9));
    }

    #[test]
    fn cseq_parses_and_displays() {
        let c = CSeq::parse("10 MESSAGE").unwrap();
        assert_eq!((c.number, c.method.as_str()), (10, "MESSAGE"));
        assert_eq!(c.to_string(), "10 MESSAGE");
        assert_eq!(
            CSeq::parse("007\t\tNOTIFY").unwrap().to_string(),
            "7 NOTIFY"
        );
        assert_eq!(CSeq::parse("4294967295 ACK").unwrap().number, u32::MAX);
        assert_eq!(CSeq::parse("4294967296 ACK").unwrap_err(), bad(0));
        assert_eq!(CSeq::parse("12345678901 ACK").unwrap_err(), bad(10));
        assert_eq!(CSeq::parse("1MESSAGE").unwrap_err(), bad(1));
        assert_eq!(CSeq::parse("1 ").unwrap_err(), bad(2));
        assert_eq!(CSeq::parse(" 1 A").unwrap_err(), bad(0));
        assert_eq!(CSeq::parse("1 MES SAGE").unwrap_err(), bad(5));
    }

    #[test]
    fn via_parses_kamailio_and_sipp_forms() {
        let v = Via::parse(
            "SIP/2.0/TCP 127.0.0.1:15080;branch=z9hG4bK46dd.52c7c856000000000000000000000000.0",
        )
        .unwrap();
        assert_eq!(
            (
                v.protocol.as_ref(),
                v.version.as_ref(),
                v.transport.as_ref()
            ),
            ("SIP", "2.0", "TCP")
        );
        assert_eq!((v.host.as_ref(), v.port), ("127.0.0.1", Some(15080)));
        assert_eq!(
            v.branch(),
            Some("z9hG4bK46dd.52c7c856000000000000000000000000.0")
        );
        let text = "SIP/2.0/UDP [2001:db8::1]:5060;received=192.0.2.1;rport=5061;lr";
        let v = Via::parse(text).unwrap();
        assert_eq!(v.host, "[2001:db8::1]");
        assert_eq!(v.param("RPORT"), Some("5061"));
        assert_eq!(v.to_string(), text);
        let spaced = Via::parse("SIP / 2.0 / TCP  a.example ; branch = z9hG4bK1").unwrap();
        assert_eq!(spaced.to_string(), "SIP/2.0/TCP a.example;branch=z9hG4bK1");
        assert_eq!(Via::parse("SIP/2.0/TCP").unwrap_err(), bad(11));
        assert_eq!(Via::parse("SIP/2.0 a").unwrap_err(), bad(8));
        assert_eq!(Via::parse("SIP/2.0/TCP a:99999").unwrap_err(), bad(14));
        assert_eq!(Via::parse("SIP/2.0/TCP a;").unwrap_err(), bad(14));
        assert_eq!(Via::parse("SIP/2.0/TCP a b").unwrap_err(), bad(14));
    }

    #[test]
    fn name_addr_forms() {
        let a =
            NameAddr::parse(r#""alice" <sip:alice@127.0.0.1:15080>;tag=9820SIPpTag001"#).unwrap();
        assert_eq!(a.display.as_deref(), Some("\"alice\""));
        assert_eq!(a.uri, "sip:alice@127.0.0.1:15080");
        assert_eq!(a.tag(), Some("9820SIPpTag001"));
        assert_eq!(
            a.to_string(),
            r#""alice" <sip:alice@127.0.0.1:15080>;tag=9820SIPpTag001"#
        );
        let b = NameAddr::parse("sip:bob@example.com;tag=x").unwrap();
        assert_eq!(
            (b.uri.as_ref(), b.bracketed, b.tag()),
            ("sip:bob@example.com", false, Some("x"))
        );
        assert_eq!(b.to_string(), "sip:bob@example.com;tag=x");
        let c = NameAddr::parse("Bob Smith <sip:bob@127.0.0.1:15090;transport=TCP>;expires=300")
            .unwrap();
        assert_eq!(c.display.as_deref(), Some("Bob Smith"));
        assert_eq!(c.uri, "sip:bob@127.0.0.1:15090;transport=TCP");
        assert_eq!(c.param("expires"), Some("300"));
        let q = NameAddr::parse(r#"<sip:a@b>;x="a \"b\"""#).unwrap();
        assert_eq!(q.params[0].unquoted().as_deref(), Some(r#"a "b""#));
        assert_eq!(NameAddr::parse("*").unwrap_err(), bad(0));
        assert_eq!(NameAddr::parse("<sip:a@b").unwrap_err(), bad(8));
        assert_eq!(NameAddr::parse("\"x <sip:a@b>").unwrap_err(), bad(12));
        assert_eq!(NameAddr::parse("a@b <sip:a@b>").unwrap_err(), bad(1));
        assert_eq!(NameAddr::parse("<sip:>").unwrap_err(), bad(5));
    }

    #[test]
    fn value_with_params() {
        let v = Value::parse("active;expires=3600").unwrap();
        assert_eq!(
            (v.value.as_ref(), v.param("expires")),
            ("active", Some("3600"))
        );
        assert_eq!(v.to_string(), "active;expires=3600");
        assert_eq!(Value::parse("message-summary").unwrap().params.len(), 0);
        assert_eq!(Value::parse(";x").unwrap_err(), bad(0));
    }

    #[test]
    fn lengths_and_seconds() {
        assert_eq!(content_length("   42"), Ok(42));
        assert_eq!(content_length("0 "), Ok(0));
        assert_eq!(
            content_length("4 2"),
            Err(Error::new(ErrorKind::BadLength, 2))
        );
        assert_eq!(content_length(""), Err(Error::new(ErrorKind::BadLength, 0)));
        assert_eq!(
            content_length("-1"),
            Err(Error::new(ErrorKind::BadLength, 0))
        );
        assert_eq!(delta_seconds("3600"), Ok(3600));
        assert_eq!(delta_seconds("4294967296"), Err(bad(0)));
    }
}
