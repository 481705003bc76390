//! SDP session descriptions (RFC 8866, which obsoletes RFC 4566), as SIP bodies carry them
//! (`application/sdp`), with the MSRP media attributes of RFC 4975 §8 typed
//! (docs/protocols/sip.md §5.3, §8.8).
//!
//! ```text
//! ; RFC 8866 §9
//! session-description = version-field
//!                       origin-field
//!                       session-name-field
//!                       [information-field]
//!                       [uri-field]
//!                       *email-field
//!                       *phone-field
//!                       [connection-field]
//!                       *bandwidth-field
//!                       1*time-description
//!                       [key-field]
//!                       *attribute-field
//!                       *media-description
//! version-field = %s"v" "=" 1*DIGIT CRLF
//! media-description = media-field
//!                     [information-field]
//!                     *connection-field
//!                     *bandwidth-field
//!                     [key-field]
//!                     *attribute-field
//! media-field = %s"m" "=" media SP port ["/" integer]
//!               SP proto 1*(SP fmt) CRLF
//! attribute-field = %s"a" "=" attribute CRLF
//! attribute = (attribute-name ":" attribute-value) /
//!             attribute-name
//! byte-string = 1*(%x01-09/%x0B-0C/%x0E-FF)
//!               ;any byte except NUL, CR, or LF
//!
//! ; RFC 4975 §9 (the MSRP attributes)
//! accept-types = "accept-types:" format-list
//! format-list = format-entry *( SP format-entry)
//! format-entry = accept-type / ("*")
//! path-attribute = "path:" MSRP-URI *(SP MSRP-URI)
//! ```
//!
//! Each line is `<type>=<value>` with a one-letter, case-significant type (§5). The codec
//! keeps every line in order (unknown ones included), so a CRLF description round-trips byte
//! for byte, and checks: the type is a lower-case letter; the value has no NUL (and is
//! UTF-8); the description starts `v=0`, has `o=`, `s=` and `t=` before the first `m=` (the
//! fields' order within a section is not checked); each `m=` line has the `media-field`
//! shape. Values are otherwise read by the typed accessors ([`Media`]).
//!
//! Deviations are opt-in ([`Limits`]): `allow_bare_lf` takes lines ending in a bare LF (and
//! a last line without its end), written back with CRLF; `allow_fragment` takes a body
//! without the session-level `v=`/`o=`/`s=`/`t=` lines, as a reader of hand-written offers
//! (the reference server) may.

use std::borrow::Cow;

use crate::{Error, ErrorKind};

/// A session description: its lines, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct SessionDescription<'a> {
    /// Every line, without its line end.
    pub lines: Vec<Line<'a>>,
}

/// One `<type>=<value>` line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Line<'a> {
    /// The type letter (`v`, `o`, `m`, `a`, …).
    pub kind: char,
    /// The value after `=`, as written.
    pub value: Cow<'a, str>,
}

/// One media section: its `m=` line, typed, and the lines after it up to the next `m=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media<'s, 'a> {
    /// The media type (`message`, `audio`).
    pub media: &'s str,
    /// The transport port.
    pub port: u16,
    /// The `/<number of ports>` after the port, if written.
    pub ports: Option<u32>,
    /// The transport protocol (`TCP/MSRP`, `TCP/TLS/MSRP`, `RTP/AVP`).
    pub proto: &'s str,
    /// The formats (`*` for MSRP).
    pub formats: Vec<&'s str>,
    /// The media-level lines after the `m=` line.
    pub lines: &'s [Line<'a>],
}

/// Opt-in leniencies for [`SessionDescription::parse_with`]; the default is RFC 8866.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Accept lines ending in a bare LF, and a last line without a line end.
    pub allow_bare_lf: bool,
    /// Accept a body without the session-level `v=0`, `o=`, `s=` and `t=` lines.
    pub allow_fragment: bool,
}

impl Limits {
    /// Every leniency switched on.
    pub fn lenient() -> Self {
        Self {
            allow_bare_lf: true,
            allow_fragment: true,
        }
    }
}

impl<'a> Line<'a> {
    /// A line of type `kind`.
    pub fn new(kind: char, value: impl Into<Cow<'a, str>>) -> Self {
        Self {
            kind,
            value: value.into(),
        }
    }

    /// For an `a=` line, the attribute name and its value (`None` for a property attribute
    /// such as `a=recvonly`).
    pub fn attribute(&self) -> Option<(&str, Option<&str>)> {
        (self.kind == 'a').then(|| match self.value.split_once(':') {
            Some((name, value)) => (name, Some(value)),
            None => (self.value.as_ref(), None),
        })
    }

    /// The same line owning its text.
    pub fn into_owned(self) -> Line<'static> {
        Line {
            kind: self.kind,
            value: Cow::Owned(self.value.into_owned()),
        }
    }
}

impl<'a> SessionDescription<'a> {
    /// An empty description, to fill with [`SessionDescription::with`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The same description with line `kind=value` appended.
    #[must_use]
    pub fn with(mut self, kind: char, value: impl Into<Cow<'a, str>>) -> Self {
        self.lines.push(Line::new(kind, value));
        self
    }

    /// Parses a whole body by RFC 8866. Errors carry offsets into `body`.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with(body, &Limits::default())
    }

    /// Parses a whole body with the leniencies of `limits`.
    pub fn parse_with(body: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        let text =
            core::str::from_utf8(body).map_err(|e| Error::new(ErrorKind::Utf8, e.valid_up_to()))?;
        let mut lines = Vec::new();
        let mut pos = 0;
        let mut seen_media = false;
        let mut session = [false; 3]; // o, s, t before the first m=
        while pos < body.len() {
            let lf = body
                .iter()
                .skip(pos)
                .position(|&c| c == b'\n')
                .map(|i| pos + i);
            let (end, next) = match lf {
                Some(lf) if lf > pos && body.get(lf - 1) == Some(&b'\r') => (lf - 1, lf + 1),
                Some(lf) if limits.allow_bare_lf => (lf, lf + 1),
                Some(lf) => return Err(Error::new(ErrorKind::BadLineEnding, lf)),
                None if limits.allow_bare_lf => (body.len(), body.len()),
                None => return Err(Error::new(ErrorKind::BadLineEnding, body.len())),
            };
            let line = text.get(pos..end).unwrap_or_default();
            let b = line.as_bytes();
            let kind = match b.first() {
                Some(&k) if k.is_ascii_lowercase() => char::from(k),
                _ => return Err(Error::new(ErrorKind::Unexpected, pos)),
            };
            if b.get(1) != Some(&b'=') {
                return Err(Error::new(ErrorKind::Unexpected, pos + 1));
            }
            if let Some(i) = b.iter().position(|&c| c == 0 || c == b'\r') {
                return Err(Error::new(ErrorKind::Unexpected, pos + i));
            }
            let value = line.get(2..).unwrap_or_default();
            if lines.is_empty() && !limits.allow_fragment && (kind != 'v' || value != "0") {
                return Err(Error::new(ErrorKind::Unexpected, pos));
            }
            match kind {
                'm' => {
                    if !seen_media && !limits.allow_fragment && session.iter().any(|s| !s) {
                        return Err(Error::new(ErrorKind::Missing, pos));
                    }
                    seen_media = true;
                    media_field(value)
                        .map_err(|i| Error::new(ErrorKind::Unexpected, pos + 2 + i))?;
                }
                'o' if !seen_media => session[0] = true,
                's' if !seen_media => session[1] = true,
                't' if !seen_media => session[2] = true,
                _ => {}
            }
            lines.push(Line::new(kind, value));
            pos = next;
        }
        if lines.is_empty() && !limits.allow_fragment {
            return Err(Error::new(ErrorKind::Missing, 0));
        }
        if !seen_media && !limits.allow_fragment && session.iter().any(|s| !s) {
            return Err(Error::new(ErrorKind::Missing, body.len()));
        }
        Ok(Self { lines })
    }

    /// The session-level lines: those before the first `m=`.
    pub fn session_lines(&self) -> &[Line<'a>] {
        let end = self
            .lines
            .iter()
            .position(|l| l.kind == 'm')
            .unwrap_or(self.lines.len());
        self.lines.get(..end).unwrap_or_default()
    }

    /// The media sections in order.
    pub fn media(&self) -> impl Iterator<Item = Media<'_, 'a>> {
        let starts: Vec<usize> = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.kind == 'm')
            .map(|(i, _)| i)
            .collect();
        let lines = &self.lines;
        starts
            .clone()
            .into_iter()
            .enumerate()
            .filter_map(move |(n, i)| {
                let end = starts.get(n + 1).copied().unwrap_or(lines.len());
                let (media, port, ports, proto, formats) =
                    media_field(&lines.get(i)?.value).ok()?;
                Some(Media {
                    media,
                    port,
                    ports,
                    proto,
                    formats,
                    lines: lines.get(i + 1..end).unwrap_or_default(),
                })
            })
    }

    /// Writes the description, every line ending in CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for l in &self.lines {
            let mut k = [0; 4];
            out.extend_from_slice(l.kind.encode_utf8(&mut k).as_bytes());
            out.push(b'=');
            out.extend_from_slice(l.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The encoded description.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// The length of [`SessionDescription::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        self.lines
            .iter()
            .map(|l| l.kind.len_utf8() + 1 + l.value.len() + 2)
            .sum()
    }

    /// The same description owning its text.
    pub fn into_owned(self) -> SessionDescription<'static> {
        SessionDescription {
            lines: self.lines.into_iter().map(Line::into_owned).collect(),
        }
    }
}

impl<'s> Media<'s, '_> {
    /// The value of the first media-level `a=<name>:<value>` (`Some("")` for a property
    /// attribute `a=<name>`).
    pub fn attribute(&self, name: &str) -> Option<&'s str> {
        self.lines
            .iter()
            .filter_map(Line::attribute)
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.unwrap_or_default())
    }

    /// Whether the protocol is MSRP over plain TCP (`TCP/MSRP`, compared ignoring case).
    pub fn is_msrp_tcp(&self) -> bool {
        self.proto.eq_ignore_ascii_case("TCP/MSRP")
    }

    /// The MSRP URIs of `a=path:` (RFC 4975 §8.2), in order; `None` without the attribute.
    pub fn path(&self) -> Option<Vec<&'s str>> {
        self.attribute("path")
            .map(|p| p.split(' ').filter(|u| !u.is_empty()).collect())
    }

    /// The media types of `a=accept-types:` (RFC 4975 §8.6), `*` included; empty without
    /// the attribute.
    pub fn accept_types(&self) -> Vec<&'s str> {
        self.attribute("accept-types")
            .map(|t| t.split(' ').filter(|u| !u.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Whether `a=accept-types` takes `kind/subtype`: listed (ignoring case), as `kind/*`,
    /// or `*`.
    pub fn accepts(&self, kind: &str, subtype: &str) -> bool {
        self.accept_types().iter().any(|t| {
            *t == "*"
                || t.split_once('/').is_some_and(|(k, s)| {
                    k.eq_ignore_ascii_case(kind) && (s == "*" || s.eq_ignore_ascii_case(subtype))
                })
        })
    }
}

type MediaField<'s> = (&'s str, u16, Option<u32>, &'s str, Vec<&'s str>);

/// `media SP port ["/" integer] SP proto 1*(SP fmt)`, or the offset of the first wrong byte.
fn media_field(value: &str) -> Result<MediaField<'_>, usize> {
    // Every word with its offset; an empty word is a doubled, leading or trailing SP.
    let mut words = Vec::new();
    let mut at = 0;
    for w in value.split(' ') {
        if w.is_empty() {
            return Err(at);
        }
        if let Some(i) = w.bytes().position(|c| !c.is_ascii_graphic()) {
            return Err(at + i);
        }
        words.push((at, w));
        at += w.len() + 1;
    }
    let [(_, media), (port_at, port), (_, proto), formats @ ..] = words.as_slice() else {
        return Err(value.len());
    };
    if formats.is_empty() {
        return Err(value.len());
    }
    let (port, ports) = match port.split_once('/') {
        Some((p, n)) => (p, Some(n.parse().map_err(|_| port_at + p.len() + 1)?)),
        None => (*port, None),
    };
    if !port.bytes().all(|c| c.is_ascii_digit()) {
        return Err(*port_at);
    }
    let port = port.parse().map_err(|_| *port_at)?;
    Ok((
        media,
        port,
        ports,
        proto,
        formats.iter().map(|(_, f)| *f).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 4975 §7.1's offer (the SDP shape docs/protocols/sip.md §5.3 names).
    const RFC4975_OFFER: &str = "v=0\r\no=alice 2890844526 2890844527 IN IP4 alicepc.example.com\r\ns= \r\nc=IN IP4 alicepc.example.com\r\nt=0 0\r\nm=message 7654 TCP/MSRP *\r\na=accept-types:text/plain\r\na=path:msrp://alicepc.example.com:7654/jshA7weztas;tcp\r\n";

    #[test]
    fn sdp_rfc4975_offer() {
        let sd = SessionDescription::parse(RFC4975_OFFER.as_bytes()).unwrap();
        assert_eq!(sd.to_bytes(), RFC4975_OFFER.as_bytes());
        assert_eq!(sd.encoded_len(), RFC4975_OFFER.len());
        assert_eq!(sd.session_lines().len(), 5);
        let m: Vec<_> = sd.media().collect();
        assert_eq!(m.len(), 1);
        let m = &m[0];
        assert_eq!(
            (m.media, m.port, m.proto, m.formats.clone()),
            ("message", 7654, "TCP/MSRP", vec!["*"])
        );
        assert!(m.is_msrp_tcp());
        assert_eq!(
            m.path(),
            Some(vec!["msrp://alicepc.example.com:7654/jshA7weztas;tcp"])
        );
        assert_eq!(m.accept_types(), ["text/plain"]);
        assert!(m.accepts("TEXT", "plain"));
        assert!(!m.accepts("message", "cpim"));
    }

    #[test]
    fn sdp_media_sections_keep_their_own_attributes() {
        let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000/2 RTP/AVP 0 8\r\na=path:msrp://wrong\r\na=recvonly\r\nm=message 7654 TCP/MSRP *\r\na=accept-types:text/plain message/*\r\na=path:msrp://127.0.0.1:7654/a;tcp msrp://relay:1/b;tcp\r\n";
        let sd = SessionDescription::parse(body.as_bytes()).unwrap();
        let m: Vec<_> = sd.media().collect();
        assert_eq!(
            (m[0].ports, m[0].formats.clone()),
            (Some(2), vec!["0", "8"])
        );
        assert_eq!(m[0].attribute("recvonly"), Some(""));
        assert!(!m[0].is_msrp_tcp());
        assert_eq!(m[1].path().map(|p| p.len()), Some(2));
        assert!(m[1].accepts("message", "cpim"));
    }

    #[test]
    fn sdp_rejects_at_the_wrong_byte() {
        let at = |s: &str| {
            SessionDescription::parse(s.as_bytes())
                .map(|_| ())
                .map_err(|e| (e.kind(), e.offset()))
        };
        assert_eq!(at("v=1\r\n"), Err((ErrorKind::Unexpected, 0)));
        assert_eq!(at("v=0\n"), Err((ErrorKind::BadLineEnding, 3)));
        assert_eq!(at("v=0\r\no=x"), Err((ErrorKind::BadLineEnding, 8)));
        assert_eq!(at("v=0\r\nO=x\r\n"), Err((ErrorKind::Unexpected, 5)));
        assert_eq!(at("v=0\r\nox\r\n"), Err((ErrorKind::Unexpected, 6)));
        assert_eq!(
            at("v=0\r\nm=message 1 TCP/MSRP *\r\n"),
            Err((ErrorKind::Missing, 5))
        );
        let head = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n";
        let m = |line: &str| at(&format!("{head}{line}\r\n"));
        assert_eq!(
            m("m=message x TCP/MSRP *"),
            Err((ErrorKind::Unexpected, head.len() + 10))
        );
        assert_eq!(
            m("m=message 70000 TCP/MSRP *"),
            Err((ErrorKind::Unexpected, head.len() + 10))
        );
        assert_eq!(
            m("m=message 1 TCP/MSRP"),
            Err((ErrorKind::Unexpected, head.len() + 20))
        );
        assert_eq!(
            m("m=message  1 TCP/MSRP *"),
            Err((ErrorKind::Unexpected, head.len() + 10))
        );
        assert_eq!(
            m("m=message 1 TCP/MSRP * "),
            Err((ErrorKind::Unexpected, head.len() + 23))
        );
        assert_eq!(at("v=0\r\no=a\0\r\n"), Err((ErrorKind::Unexpected, 8)));
        assert_eq!(
            SessionDescription::parse(b"v=0\r\ns=\xff\r\n").map_err(|e| (e.kind(), e.offset())),
            Err((ErrorKind::Utf8, 7))
        );
        assert_eq!(at(""), Err((ErrorKind::Missing, 0)));
    }

    #[test]
    fn sdp_lenient_takes_hand_written_offers() {
        let lenient = Limits::lenient();
        let sd = SessionDescription::parse_with(
            b"m=message 9 TCP/MSRP *\na=accept-types:text/plain\na=path:msrp://h:1/s;tcp",
            &lenient,
        )
        .unwrap();
        assert_eq!(
            sd.media().next().and_then(|m| m.path()),
            Some(vec!["msrp://h:1/s;tcp"])
        );
        assert!(
            SessionDescription::parse(sd.to_bytes().as_slice()).is_err(),
            "still a fragment"
        );
        assert_eq!(
            SessionDescription::parse_with(&sd.to_bytes(), &lenient),
            Ok(sd)
        );
    }

    #[test]
    fn sdp_builds_an_answer() {
        let sd = SessionDescription::new()
            .with('v', "0")
            .with('o', "imspec 42 1 IN IP4 127.0.0.1")
            .with('s', "-")
            .with('c', "IN IP4 127.0.0.1")
            .with('t', "0 0")
            .with('m', "message 2855 TCP/MSRP *")
            .with('a', "path:msrp://127.0.0.1:2855/abc;tcp");
        let bytes = sd.to_bytes();
        assert!(bytes.ends_with(b"a=path:msrp://127.0.0.1:2855/abc;tcp\r\n"));
        assert_eq!(SessionDescription::parse(&bytes), Ok(sd));
    }

    proptest! {
        /// Law: whatever either reader accepts writes back in CRLF form that the same reader
        /// reads as the same value, and the strict reader's values are the lenient reader's.
        #[test]
        fn sdp_round_trips(lines in proptest::collection::vec("[a-z]=[ -~]{0,12}", 0..8), lf in any::<bool>(), head in any::<bool>()) {
            let mut text = String::new();
            if head {
                text.push_str("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n");
            }
            for l in &lines {
                text.push_str(l);
                text.push_str(if lf { "\n" } else { "\r\n" });
            }
            let strict = SessionDescription::parse(text.as_bytes());
            let lenient = SessionDescription::parse_with(text.as_bytes(), &Limits::lenient());
            if let Ok(sd) = &strict {
                prop_assert_eq!(sd.to_bytes(), text.as_bytes());
                prop_assert_eq!(&lenient, &strict);
            }
            if let Ok(sd) = lenient {
                let bytes = sd.to_bytes();
                prop_assert_eq!(sd.encoded_len(), bytes.len());
                prop_assert_eq!(SessionDescription::parse_with(&bytes, &Limits::lenient()), Ok(sd));
            }
        }
    }
}
