//! Typed values of the compact SIP-C headers (docs/protocols/fetion.md §4).
//!
//! The framing keeps every header value as raw text, so a message re-encodes byte for byte
//! whatever its values say; the types here read one value each, on demand:
//!
//! | header | type | example |
//! | --- | --- | --- |
//! | `I` | [`CallId`] | `19`, `-12` |
//! | `Q` | [`CSeq`] | `1 S`, `200002 I`, `2 BN` |
//! | `L` | [`Length`] | `60` |
//! | `X` | [`Expires`] | `1200` |
//! | `N` | [`EventName`] | `StartChat` |
//! | `XI` | [`MessageId`] | `0bb0982aafb546a8af92e8d66fbe962c` |
//! | `D` | [`Date`] | `Thu, 17 Dec 2009 16:13:57 GMT` |
//! | `C` | [`ContentType`] | `text/html-fragment` |
//! | `F`, `T` | [`Address`] | `815389316`, `sip:815389316@fetion.com.cn;p=72`, `tel:13800000000` |
//! | `A` | [`Auth`] | `TICKS auth="…"`, `CS address="…",credential="…"`, `Digest …`, `Verify …` |
//! | `W` | [`Challenge`] | `Digest algorithm="MD5",nonce="…"` |
//!
//! Every type has `parse(value)`; error offsets are relative to the start of the value (a
//! caller that knows where the value sits in the frame moves them with
//! [`Error::shifted`](crate::Error::shifted)). `Display` writes the value back; a value
//! already in the canonical form each type documents comes back byte for byte, and for
//! every value `v`, `T::parse(&v.to_string()) == Ok(v)`.
//!
//! Errors are [`ErrorKind::BadHeaderValue`] at the first offending byte (at the end of the
//! value when something is missing there), except `L:` ([`ErrorKind::BadLength`]) and a
//! required `A:` parameter that is absent ([`ErrorKind::Missing`] at the end of the value).

use core::fmt;
use std::borrow::Cow;

use super::Method;
use crate::date::MAX_UNIX_SECS as MAX_RFC1123_SECS;
pub use crate::date::{format_rfc1123, parse_rfc1123};
use crate::{Error, ErrorKind, scan};

/// `I:` Call-ID. Server-originated requests may use negative ids (`I: -12`, seed 004).
///
/// ```text
/// call-id = ["-"] 1*DIGIT          ; fits in an i64; canonical: no leading zeros, no "-0"
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CallId(pub i64);

/// `Q:` CSeq: a sequence number and the method of the request it belongs to. A response
/// echoes its request's `Q:` (docs/protocols/fetion.md §9.1).
///
/// ```text
/// cseq   = 1*DIGIT SP method       ; "1 S", "200002 I", "2 BN"; the number fits in a u64
/// method = 1*token-char            ; R S M I A B O IN BN SUB, or any other token
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct CSeq<'a> {
    /// The sequence number.
    pub number: u64,
    /// The method token as written (`S`, `BN`).
    pub method: Method<'a>,
}

/// `L:` body length in bytes.
///
/// ```text
/// length = 1*20DIGIT               ; fits in a u64
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Length(pub u64);

/// `X:` expiry in seconds (`X: 1200` in the chat server's R reply, `X: 0` to deregister).
///
/// ```text
/// expires = 1*20DIGIT              ; fits in a u64
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Expires(pub u64);

/// `N:` event name (`StartChat`, `InviteBuddy`, `Conversation`, …; docs/protocols/fetion.md §6.1).
///
/// ```text
/// event = 1*token-char
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct EventName<'a>(Cow<'a, str>);

/// `XI:` message id: 32 hexadecimal digits, either case (case is kept).
///
/// ```text
/// message-id = 32HEXDIG
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct MessageId<'a>(Cow<'a, str>);

/// `D:` date in the RFC 1123 form (`Thu, 17 Dec 2009 16:13:57 GMT`). The text is kept; the
/// instant it names is available as Unix seconds. The codec has no clock: a server formats
/// its own `now` with [`format_rfc1123`].
///
/// ```text
/// rfc1123-date = wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"
/// wkday        = "Mon" / "Tue" / "Wed" / "Thu" / "Fri" / "Sat" / "Sun"
/// month        = "Jan" / "Feb" / … / "Dec"
/// ```
///
/// Beyond the shape, the day must exist in its month, the time must be at most `23:59:59`
/// (no leap second), the year at least 1970, and the week day must be the one the date falls
/// on: a conformance suite wants to hear about a server that writes `Mon` for a Thursday.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Date<'a> {
    text: Cow<'a, str>,
    unix_secs: u64,
}

/// `C:` content type (`text/plain`, `text/html-fragment`).
///
/// ```text
/// content-type = type "/" subtype *( *SP ";" *SP name "=" ( token / quoted-string ) )
/// type, subtype, name = 1*mime-token-char   ; RFC 2045 token: no SP, CTL or tspecials
/// ```
///
/// Canonical form: no spaces around `;`, values quoted only when they are not tokens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ContentType<'a> {
    /// The top-level type (`text`).
    pub kind: Cow<'a, str>,
    /// The subtype (`plain`, `html-fragment`).
    pub subtype: Cow<'a, str>,
    /// Parameters in order, values unquoted and unescaped.
    pub params: Vec<Param<'a>>,
}

/// `F:` and `T:` addresses.
///
/// ```text
/// address = sid / sip-uri / tel-uri
/// sid     = 1*20DIGIT                                    ; client requests: "F: 815389316"
/// sip-uri = "sip:" user "@" host *( ";" pname [ "=" pvalue ] )
///                                                        ; "sip:815389316@fetion.com.cn;p=72"
/// tel-uri = "tel:" [ "+" ] 1*DIGIT                       ; "tel:13800000000" (PyFetion SendSMS)
/// ```
///
/// The `sip-uri` is read by the one SIP URI grammar, [`crate::sip::Uri`] (RFC 3261 §25.1),
/// held to the Fetion form: a user, no password, no `?headers` (the port stays in `host`);
/// no white space: the seed's `sip: 815389316@…` is a
/// transcription slip (docs/protocols/fetion.md §8.6) and is rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Address<'a> {
    /// A bare Fetion number.
    Sid(u64),
    /// A `sip:` URI.
    Sip(SipUri<'a>),
    /// A `tel:` URI; the number as written after `tel:`.
    Tel(Cow<'a, str>),
}

/// A `sip:user@host;params` URI as Fetion writes them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct SipUri<'a> {
    /// The user part (`815389316`, or a group id such as `PG1234`).
    pub user: Cow<'a, str>,
    /// The host part (`fetion.com.cn`).
    pub host: Cow<'a, str>,
    /// URI parameters in order (`p=72`).
    pub params: Vec<UriParam<'a>>,
}

/// One `;name[=value]` URI parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct UriParam<'a> {
    /// The name (`p`).
    pub name: Cow<'a, str>,
    /// The value (`72`), if the parameter has one.
    pub value: Option<Cow<'a, str>>,
}

/// `A:` authorization or credential, in all the forms the sources show (docs/protocols/fetion.md §4).
///
/// ```text
/// auth     = scheme [ SP params ]
/// params   = param *( "," *SP param )
/// param    = name "=" quoted-string                     ; name: 1*( ALPHA / DIGIT / "-" / "_" / "." )
/// quoted-string = DQUOTE *( qdtext / "\" qchar ) DQUOTE ; RFC 3261 quoted-string without CTLs
/// scheme   = 1*( ALPHA / DIGIT / "-" / "_" / "." )
///
/// "TICKS auth=" quoted-string                            ; chat-server R (seed 004)
/// "CS address=" DQUOTE hostport *( ";" hostport ) DQUOTE ",credential=" quoted-string
///                                                        ; StartChat 200, INVITE (seed 004)
/// "Digest" SP params                                     ; R: response, cnonce, algorithm, salt, ssic …
/// "Verify" SP params                                     ; captcha: response, algorithm, type, chid
/// hostport = host ":" port                               ; port: 1*5DIGIT <= 65535
/// ```
///
/// Schemes compare case-sensitively, as the sources write them; any other scheme (or a
/// different spelling) is kept as [`Auth::Other`]. `TICKS` must carry exactly `auth`, and `CS`
/// exactly `address` and `credential` (either order; written back address first).
/// Canonical form: one space after the scheme, no space after commas, only `"` and `\`
/// escaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth<'a> {
    /// `CS address="ip:port;ip:port",credential="…"`: where the chat server is and the
    /// ticket to present there.
    Cs {
        /// The chat server's addresses, in order.
        addresses: Vec<HostPort<'a>>,
        /// The ticket the chat-server R presents as `TICKS auth`.
        credential: Cow<'a, str>,
    },
    /// `Digest k="v",…`: any parameters, order kept.
    Digest {
        /// The parameters.
        params: Params<'a>,
    },
    /// Any other scheme. Its `scheme` is never `CS`, `Digest`, `TICKS` or `Verify`.
    Other {
        /// The scheme as written.
        scheme: Cow<'a, str>,
        /// The parameters.
        params: Params<'a>,
    },
    /// `TICKS auth="…"`: the credential from the StartChat reply or the INVITE.
    Ticks {
        /// The credential.
        auth: Cow<'a, str>,
    },
    /// `Verify response="…",algorithm="…",type="…",chid="…"` (captcha answer).
    Verify {
        /// The parameters.
        params: Params<'a>,
    },
}

/// One `host:port` of a `CS address`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct HostPort<'a> {
    /// The host (`221.176.31.108`): letters, digits, `.` and `-`.
    pub host: Cow<'a, str>,
    /// The port.
    pub port: u16,
}

/// `W:` challenge in the 401 to R: `Digest algorithm="MD5",nonce="…"` (4.0 adds `key` and
/// `signature`). Same grammar as [`Auth`]'s generic form; the scheme is kept as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Challenge<'a> {
    /// The scheme (`Digest`).
    pub scheme: Cow<'a, str>,
    /// The parameters in order.
    pub params: Params<'a>,
}

/// A `name="value"` list in wire order; values are unescaped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Params<'a>(pub Vec<Param<'a>>);

/// One `name="value"` parameter (value unescaped).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Param<'a> {
    /// The name (`nonce`).
    pub name: Cow<'a, str>,
    /// The value without quotes and escapes.
    pub value: Cow<'a, str>,
}

impl CallId {
    /// Parses an `I:` value.
    pub fn parse(value: &str) -> Result<Self, Error> {
        signed(value).map(Self)
    }
}

impl<'a> CSeq<'a> {
    /// A CSeq from a number and a method.
    pub fn new(number: u64, method: impl Into<Method<'a>>) -> Self {
        Self {
            number,
            method: method.into(),
        }
    }

    /// Parses a `Q:` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let Some(sp) = memchr::memchr(b' ', b) else {
            // Either a non-digit in the number, or the number runs to the end.
            return Err(match b.iter().position(|c| !c.is_ascii_digit()) {
                Some(i) => bad(i),
                None => bad(value.len()),
            });
        };
        let number = unsigned(slice(value, 0, sp), ErrorKind::BadHeaderValue)?;
        let method = slice(value, sp + 1, value.len());
        token(method, sp + 1)?;
        let method = Method::new(method).ok_or(bad(sp + 1))?;
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

impl Length {
    /// Parses an `L:` value; errors are [`ErrorKind::BadLength`].
    pub fn parse(value: &str) -> Result<Self, Error> {
        unsigned(value, ErrorKind::BadLength).map(Self)
    }
}

impl Expires {
    /// Parses an `X:` value.
    pub fn parse(value: &str) -> Result<Self, Error> {
        unsigned(value, ErrorKind::BadHeaderValue).map(Self)
    }
}

impl<'a> EventName<'a> {
    /// Parses an `N:` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        token(value, 0)?;
        Ok(Self(Cow::Borrowed(value)))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> EventName<'static> {
        EventName(own(self.0))
    }
}

impl<'a> MessageId<'a> {
    /// Parses an `XI:` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        if let Some(i) = value.bytes().position(|c| !c.is_ascii_hexdigit()) {
            return Err(bad(i));
        }
        if value.len() != 32 {
            return Err(bad(value.len().min(32)));
        }
        Ok(Self(Cow::Borrowed(value)))
    }

    /// The id written as 32 lower-case hex digits (how seed 004 writes them).
    pub fn from_u128(id: u128) -> MessageId<'static> {
        MessageId(Cow::Owned(format!("{id:032x}")))
    }

    /// The id as a number.
    pub fn value(&self) -> u128 {
        // INVARIANT: `parse` and `from_u128` only admit 32 hex digits.
        u128::from_str_radix(&self.0, 16).unwrap_or_default()
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> MessageId<'static> {
        MessageId(own(self.0))
    }
}

impl<'a> Date<'a> {
    /// Parses a `D:` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let unix_secs = parse_rfc1123(value)?;
        Ok(Self {
            text: Cow::Borrowed(value),
            unix_secs,
        })
    }

    /// The date of `unix_secs`, or `None` after 9999-12-31T23:59:59Z (no four-digit year).
    pub fn from_unix_secs(unix_secs: u64) -> Option<Date<'static>> {
        (unix_secs <= MAX_RFC1123_SECS).then(|| Date {
            text: Cow::Owned(format_rfc1123(unix_secs)),
            unix_secs,
        })
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix_secs(&self) -> u64 {
        self.unix_secs
    }

    /// The date as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> Date<'static> {
        Date {
            text: own(self.text),
            unix_secs: self.unix_secs,
        }
    }
}

impl<'a> ContentType<'a> {
    /// A content type without parameters.
    pub fn new(kind: impl Into<Cow<'a, str>>, subtype: impl Into<Cow<'a, str>>) -> Self {
        Self {
            kind: kind.into(),
            subtype: subtype.into(),
            params: Vec::new(),
        }
    }

    /// Parses a `C:` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let b = value.as_bytes();
        let kind_end = span(b, 0, is_mime_token);
        if kind_end == 0 {
            return Err(bad(0));
        }
        if b.get(kind_end) != Some(&b'/') {
            return Err(bad(kind_end));
        }
        let sub_end = span(b, kind_end + 1, is_mime_token);
        if sub_end == kind_end + 1 {
            return Err(bad(sub_end));
        }
        let mut params = Vec::new();
        let mut pos = sub_end;
        while pos < b.len() {
            pos = span(b, pos, |c| c == b' ');
            if b.get(pos) != Some(&b';') {
                return Err(bad(pos));
            }
            pos = span(b, pos + 1, |c| c == b' ');
            let name_end = span(b, pos, is_mime_token);
            if name_end == pos {
                return Err(bad(pos));
            }
            let name = slice(value, pos, name_end);
            if b.get(name_end) != Some(&b'=') {
                return Err(bad(name_end));
            }
            let (value, next) = if b.get(name_end + 1) == Some(&b'"') {
                quoted(value, name_end + 1)?
            } else {
                let end = span(b, name_end + 1, is_mime_token);
                if end == name_end + 1 {
                    return Err(bad(end));
                }
                (Cow::Borrowed(slice(value, name_end + 1, end)), end)
            };
            params.push(Param {
                name: Cow::Borrowed(name),
                value,
            });
            pos = next;
        }
        Ok(Self {
            kind: Cow::Borrowed(slice(value, 0, kind_end)),
            subtype: Cow::Borrowed(slice(value, kind_end + 1, sub_end)),
            params,
        })
    }

    /// Whether this is `type/subtype` (ASCII case-insensitive, parameters ignored).
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// The value of parameter `name` (ASCII case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_ref())
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> ContentType<'static> {
        ContentType {
            kind: own(self.kind),
            subtype: own(self.subtype),
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }
}

impl<'a> Address<'a> {
    /// Parses an `F:` or `T:` value (also a member or contact `uri` in a body).
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        if value.starts_with("sip:") {
            return SipUri::parse(value).map(Self::Sip);
        }
        if let Some(rest) = value.strip_prefix("tel:") {
            let b = rest.as_bytes();
            let digits = usize::from(b.first() == Some(&b'+'));
            if let Some(i) = b.iter().skip(digits).position(|c| !c.is_ascii_digit()) {
                return Err(bad(4 + digits + i));
            }
            if b.len() == digits {
                return Err(bad(value.len()));
            }
            return Ok(Self::Tel(Cow::Borrowed(rest)));
        }
        unsigned(value, ErrorKind::BadHeaderValue).map(Self::Sid)
    }

    /// The Fetion number: a bare sid, or a `sip:` URI whose user part is all digits.
    pub fn sid(&self) -> Option<u64> {
        match self {
            Self::Sid(sid) => Some(*sid),
            Self::Sip(uri) => uri.sid(),
            Self::Tel(_) => None,
        }
    }

    /// The mobile number of a `tel:` address.
    pub fn tel(&self) -> Option<&str> {
        match self {
            Self::Tel(number) => Some(number),
            Self::Sid(_) | Self::Sip(_) => None,
        }
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> Address<'static> {
        match self {
            Self::Sid(sid) => Address::Sid(sid),
            Self::Sip(uri) => Address::Sip(uri.into_owned()),
            Self::Tel(number) => Address::Tel(own(number)),
        }
    }
}

impl<'a> SipUri<'a> {
    /// `sip:<sid>@fetion.com.cn[;p=<p>]`, the form the server relays (seed 004).
    pub fn fetion(sid: u64, p: Option<u32>) -> SipUri<'static> {
        let params = p.map(|p| UriParam {
            name: Cow::Borrowed("p"),
            value: Some(Cow::Owned(p.to_string())),
        });
        SipUri {
            user: Cow::Owned(sid.to_string()),
            host: Cow::Borrowed("fetion.com.cn"),
            params: params.into_iter().collect(),
        }
    }

    /// Parses a `sip:` URI.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        // The scheme as Fetion writes it (lower case); the rest by the one SIP URI grammar
        // ([`crate::sip::Uri`], RFC 3261 §25.1), held to the Fetion form: a user, no
        // password, no `?headers`; the port stays part of `host`.
        let Some(rest) = value.strip_prefix("sip:") else {
            return Err(bad(0));
        };
        let b = rest.as_bytes();
        let Some(at) = b.iter().position(|&c| c == b'@') else {
            return Err(bad(4 + span(b, 0, is_uri_user)));
        };
        let whole = crate::sip::Uri::parse(value)
            .map_err(|e| Error::new(ErrorKind::BadHeaderValue, e.offset()))?;
        let Some(user) = whole.user else {
            return Err(bad(4));
        };
        if let Some(password) = whole.password {
            return Err(bad(value.len() - rest.len() + at - password.len() - 1));
        }
        if !whole.headers.is_empty() {
            return Err(bad(4 + b
                .iter()
                .position(|&c| c == b'?')
                .unwrap_or(b.len())));
        }
        let host_end = span(b, at + 1, |c| c != b';');
        Ok(Self {
            user,
            host: Cow::Borrowed(slice(rest, at + 1, host_end)),
            params: whole
                .params
                .into_iter()
                .map(|p| UriParam {
                    name: p.name,
                    value: p.value,
                })
                .collect(),
        })
    }

    /// The user part as a Fetion number, if it is all digits.
    pub fn sid(&self) -> Option<u64> {
        scan::decimal(self.user.as_bytes(), 20)
    }

    /// The value of parameter `name` (`Some("")` for a parameter without a value).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_deref().unwrap_or_default())
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> SipUri<'static> {
        SipUri {
            user: own(self.user),
            host: own(self.host),
            params: self
                .params
                .into_iter()
                .map(|p| UriParam {
                    name: own(p.name),
                    value: p.value.map(own),
                })
                .collect(),
        }
    }
}

impl<'a> Auth<'a> {
    /// `TICKS auth="<credential>"`.
    pub fn ticks(credential: impl Into<Cow<'a, str>>) -> Self {
        Self::Ticks {
            auth: credential.into(),
        }
    }

    /// Parses an `A:` value by the grammar above.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        Self::parse_with(value, &super::Limits::default())
    }

    /// Parses an `A:` value with the `A:` leniencies of `limits`:
    /// [`allow_glued_auth_scheme`](super::Limits::allow_glued_auth_scheme) reads seed 004's
    /// `TICKSauth="…"` (a known scheme run into its first parameter name, docs/protocols/fetion.md
    /// §8.6) as `TICKS auth="…"`, and
    /// [`allow_loose_auth_params`](super::Limits::allow_loose_auth_params) takes white space
    /// around `=` and `,` and unquoted values (`Digest algorithm=MD5`, up to the next `,`,
    /// trimmed). Either way the value is written back in the canonical form.
    pub fn parse_with(value: &'a str, limits: &super::Limits) -> Result<Self, Error> {
        let forms = AuthForms {
            glued: limits.allow_glued_auth_scheme,
            loose: limits.allow_loose_auth_params,
        };
        let (scheme, params) = scheme_and_params(value, forms)?;
        match scheme {
            "CS" => cs(params, value.len()),
            "Digest" => Ok(Self::Digest { params: params.0 }),
            "TICKS" => {
                let mut auth = None;
                for (p, at) in params.0.0.into_iter().zip(params.1) {
                    match p.name.as_ref() {
                        "auth" if auth.is_none() => auth = Some(p.value),
                        _ => return Err(bad(at)),
                    }
                }
                let auth = auth.ok_or(Error::new(ErrorKind::Missing, value.len()))?;
                Ok(Self::Ticks { auth })
            }
            "Verify" => Ok(Self::Verify { params: params.0 }),
            _ => Ok(Self::Other {
                scheme: Cow::Borrowed(scheme),
                params: params.0,
            }),
        }
    }

    /// The scheme as written on the wire.
    pub fn scheme(&self) -> &str {
        match self {
            Self::Cs { .. } => "CS",
            Self::Digest { .. } => "Digest",
            Self::Other { scheme, .. } => scheme,
            Self::Ticks { .. } => "TICKS",
            Self::Verify { .. } => "Verify",
        }
    }

    /// The value of parameter `name` in any form (`auth` of TICKS, `credential` of CS, …).
    pub fn param(&self, name: &str) -> Option<&str> {
        match self {
            Self::Cs { credential, .. } => (name == "credential").then_some(credential.as_ref()),
            Self::Ticks { auth } => (name == "auth").then_some(auth.as_ref()),
            Self::Digest { params } | Self::Verify { params } | Self::Other { params, .. } => {
                params.get(name)
            }
        }
    }

    /// The credential of a `TICKS` or `CS` form: what a chat-server R must present.
    pub fn credential(&self) -> Option<&str> {
        match self {
            Self::Cs { credential, .. } => Some(credential),
            Self::Ticks { auth } => Some(auth),
            Self::Digest { .. } | Self::Other { .. } | Self::Verify { .. } => None,
        }
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> Auth<'static> {
        match self {
            Self::Cs {
                addresses,
                credential,
            } => Auth::Cs {
                addresses: addresses.into_iter().map(HostPort::into_owned).collect(),
                credential: own(credential),
            },
            Self::Digest { params } => Auth::Digest {
                params: params.into_owned(),
            },
            Self::Other { scheme, params } => Auth::Other {
                scheme: own(scheme),
                params: params.into_owned(),
            },
            Self::Ticks { auth } => Auth::Ticks { auth: own(auth) },
            Self::Verify { params } => Auth::Verify {
                params: params.into_owned(),
            },
        }
    }
}

impl<'a> HostPort<'a> {
    /// A host and a port.
    pub fn new(host: impl Into<Cow<'a, str>>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> HostPort<'static> {
        HostPort {
            host: own(self.host),
            port: self.port,
        }
    }
}

impl<'a> Challenge<'a> {
    /// Parses a `W:` value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let (scheme, (params, _)) = scheme_and_params(value, AuthForms::default())?;
        Ok(Self {
            scheme: Cow::Borrowed(scheme),
            params,
        })
    }

    /// The `nonce` parameter.
    pub fn nonce(&self) -> Option<&str> {
        self.params.get("nonce")
    }

    /// The `algorithm` parameter.
    pub fn algorithm(&self) -> Option<&str> {
        self.params.get("algorithm")
    }

    /// The same value owning its text.
    pub fn into_owned(self) -> Challenge<'static> {
        Challenge {
            scheme: own(self.scheme),
            params: self.params.into_owned(),
        }
    }
}

impl<'a> Params<'a> {
    /// Parses a bare `name="value",…` list (at least one parameter).
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        params(value, 0, false).map(|(p, _)| p)
    }

    /// Appends a parameter.
    pub fn push(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        self.0.push(Param {
            name: name.into(),
            value: value.into(),
        });
    }

    /// The first value of `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_ref())
    }

    /// The parameters in order.
    pub fn iter(&self) -> core::slice::Iter<'_, Param<'a>> {
        self.0.iter()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same list owning its text.
    pub fn into_owned(self) -> Params<'static> {
        Params(self.0.into_iter().map(Param::into_owned).collect())
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Params<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(n, v)| Param {
                    name: Cow::Borrowed(n),
                    value: Cow::Borrowed(v),
                })
                .collect(),
        )
    }
}

impl Param<'_> {
    /// The same parameter owning its text.
    pub fn into_owned(self) -> Param<'static> {
        Param {
            name: own(self.name),
            value: own(self.value),
        }
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for CSeq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.number, self.method)
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Expires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for EventName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for MessageId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Date<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for ContentType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.subtype)?;
        for p in &self.params {
            write!(f, ";{}=", p.name)?;
            if !p.value.is_empty() && p.value.bytes().all(is_mime_token) {
                f.write_str(&p.value)?;
            } else {
                write_quoted(f, &p.value)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Address<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sid(sid) => write!(f, "{sid}"),
            Self::Sip(uri) => fmt::Display::fmt(uri, f),
            Self::Tel(number) => write!(f, "tel:{number}"),
        }
    }
}

impl fmt::Display for SipUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sip:{}@{}", self.user, self.host)?;
        for p in &self.params {
            write!(f, ";{}", p.name)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Auth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cs {
                addresses,
                credential,
            } => {
                f.write_str("CS address=\"")?;
                for (i, a) in addresses.iter().enumerate() {
                    if i > 0 {
                        f.write_str(";")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str("\",credential=")?;
                write_quoted(f, credential)
            }
            Self::Ticks { auth } => {
                f.write_str("TICKS auth=")?;
                write_quoted(f, auth)
            }
            Self::Digest { params } | Self::Verify { params } | Self::Other { params, .. } => {
                f.write_str(self.scheme())?;
                if !params.is_empty() {
                    write!(f, " {params}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Challenge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if !self.params.is_empty() {
            write!(f, " {}", self.params)?;
        }
        Ok(())
    }
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}=", p.name)?;
            write_quoted(f, &p.value)?;
        }
        Ok(())
    }
}

/// A parameter list and the offset of each parameter's name.
type Located<'a> = (Params<'a>, Vec<usize>);

/// The opt-in `A:` forms of [`Auth::parse_with`].
#[derive(Clone, Copy, Default)]
struct AuthForms {
    glued: bool,
    loose: bool,
}

/// The schemes a glued `A:` value may start with (`TICKSauth="…"`).
const AUTH_SCHEMES: [&str; 4] = ["TICKS", "Digest", "Verify", "CS"];

/// `scheme [SP params]`: the scheme and the parameters.
fn scheme_and_params(value: &str, forms: AuthForms) -> Result<(&str, Located<'_>), Error> {
    let b = value.as_bytes();
    let end = span(b, 0, is_param_name);
    if end == 0 {
        return Err(bad(0));
    }
    let scheme = slice(value, 0, end);
    if forms.glued && b.get(end) == Some(&b'=') {
        // `TICKSauth="…"`: a known scheme and the first parameter name ran together.
        if let Some(known) = AUTH_SCHEMES
            .into_iter()
            .find(|k| scheme.len() > k.len() && scheme.starts_with(k))
        {
            return Ok((known, params(value, known.len(), forms.loose)?));
        }
    }
    match b.get(end) {
        None => Ok((scheme, (Params::default(), Vec::new()))),
        Some(b' ') => Ok((scheme, params(value, end + 1, forms.loose)?)),
        Some(_) => Err(bad(end)),
    }
}

/// `param *("," *SP param)` from `pos` to the end of `value`; with `loose`, also white space
/// around `=` and `,` and unquoted values up to the next `,`.
fn params(value: &str, mut pos: usize, loose: bool) -> Result<Located<'_>, Error> {
    let b = value.as_bytes();
    let spaces = |from: usize| {
        if loose {
            span(b, from, |c| c == b' ')
        } else {
            from
        }
    };
    let mut list = Vec::new();
    let mut offsets = Vec::new();
    pos = spaces(pos);
    loop {
        let name_end = span(b, pos, is_param_name);
        if name_end == pos {
            return Err(bad(pos));
        }
        let eq = spaces(name_end);
        if b.get(eq) != Some(&b'=') {
            return Err(bad(eq));
        }
        let at = spaces(eq + 1);
        let (v, next) = if loose && b.get(at) != Some(&b'"') {
            let end = span(b, at, |c| c != b',');
            let v = slice(value, at, end).trim_end_matches(' ');
            (Cow::Borrowed(v), end)
        } else {
            quoted(value, at)?
        };
        list.push(Param {
            name: Cow::Borrowed(slice(value, pos, name_end)),
            value: v,
        });
        offsets.push(pos);
        match b.get(spaces(next)) {
            None => return Ok((Params(list), offsets)),
            // Spaces after the comma: PyFetion writes `Digest response="…", cnonce="…"`.
            Some(b',') => pos = span(b, spaces(next) + 1, |c| c == b' '),
            Some(_) => return Err(bad(spaces(next))),
        }
    }
}

/// The `CS` form from its parsed parameters.
fn cs<'a>((params, offsets): Located<'a>, end: usize) -> Result<Auth<'a>, Error> {
    let (mut addresses, mut credential) = (None, None);
    for (p, at) in params.0.into_iter().zip(offsets) {
        match p.name.as_ref() {
            "address" if addresses.is_none() => {
                // The list's offsets are exact only when the value had no escapes (it never
                // needs any); otherwise errors point at the value's opening quote.
                let value_at = at + "address=\"".len();
                let exact = matches!(p.value, Cow::Borrowed(_));
                let locate = |i: usize| if exact { value_at + i } else { value_at - 1 };
                addresses = Some(host_ports(p.value, locate)?);
            }
            "credential" if credential.is_none() => credential = Some(p.value),
            _ => return Err(bad(at)),
        }
    }
    match (addresses, credential) {
        (Some(addresses), Some(credential)) => Ok(Auth::Cs {
            addresses,
            credential,
        }),
        _ => Err(Error::new(ErrorKind::Missing, end)),
    }
}

/// `hostport *(";" hostport)`; `locate` maps an offset in `list` to one in the header value.
fn host_ports<'a>(
    list: Cow<'a, str>,
    locate: impl Fn(usize) -> usize,
) -> Result<Vec<HostPort<'a>>, Error> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = list.as_bytes();
    loop {
        let host_end = span(b, start, is_host);
        if host_end == start || b.get(host_end) != Some(&b':') {
            return Err(bad(locate(host_end)));
        }
        let port_end = span(b, host_end + 1, |c| c.is_ascii_digit());
        let port = scan::decimal(slice(&list, host_end + 1, port_end).as_bytes(), 5)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or(bad(locate(host_end + 1)))?;
        let host = match &list {
            Cow::Borrowed(s) => Cow::Borrowed(slice(s, start, host_end)),
            Cow::Owned(s) => Cow::Owned(slice(s, start, host_end).to_owned()),
        };
        out.push(HostPort { host, port });
        match b.get(port_end) {
            None => return Ok(out),
            Some(b';') => start = port_end + 1,
            Some(_) => return Err(bad(locate(port_end))),
        }
    }
}

/// A quoted string starting with the `"` at `pos`: its unescaped content and the offset just
/// past the closing quote. Control characters other than HTAB are refused, escaped or not, so
/// that every accepted value can be written back by escaping only `"` and `\`.
fn quoted(value: &str, pos: usize) -> Result<(Cow<'_, str>, usize), Error> {
    let b = value.as_bytes();
    if b.get(pos) != Some(&b'"') {
        return Err(bad(pos));
    }
    let start = pos + 1;
    let mut owned: Option<String> = None;
    let mut from = start;
    let mut i = start;
    loop {
        let Some(&c) = b.get(i) else {
            return Err(bad(i));
        };
        match c {
            b'"' => {
                let v = match owned {
                    None => Cow::Borrowed(slice(value, start, i)),
                    Some(mut s) => {
                        s.push_str(slice(value, from, i));
                        Cow::Owned(s)
                    }
                };
                return Ok((v, i + 1));
            }
            b'\\' => {
                let escaped = b
                    .get(i + 1)
                    .copied()
                    .filter(|&e| e == b'\t' || (0x20..0x7f).contains(&e));
                let Some(e) = escaped else {
                    return Err(bad(i + 1));
                };
                let s = owned.get_or_insert_with(String::new);
                s.push_str(slice(value, from, i));
                s.push(char::from(e));
                i += 2;
                from = i;
            }
            _ if is_ctl(c) => return Err(bad(i)),
            _ => i += 1,
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_str("\"")?;
    let mut from = 0;
    for (i, c) in value.bytes().enumerate() {
        if c == b'"' || c == b'\\' {
            f.write_str(slice(value, from, i))?;
            f.write_str("\\")?;
            from = i;
        }
    }
    f.write_str(slice(value, from, value.len()))?;
    f.write_str("\"")
}

/// `1*token-char`, reporting at `base + i`.
fn token(s: &str, base: usize) -> Result<(), Error> {
    if let Some(i) = s.bytes().position(|c| !scan::is_token(c)) {
        return Err(bad(base + i));
    }
    if s.is_empty() {
        return Err(bad(base));
    }
    Ok(())
}

/// `["-"] 1*DIGIT` into an i64, reporting the first byte that is not a digit or overflows.
fn signed(value: &str) -> Result<i64, Error> {
    let b = value.as_bytes();
    let negative = b.first() == Some(&b'-');
    let first = usize::from(negative);
    if b.len() == first {
        return Err(bad(first));
    }
    let mut n: i64 = 0;
    for (i, &c) in b.iter().enumerate().skip(first) {
        if !c.is_ascii_digit() {
            return Err(bad(i));
        }
        let d = i64::from(c - b'0');
        // Accumulate towards the sign so that i64::MIN parses.
        let next = n.checked_mul(10).and_then(|n| {
            if negative {
                n.checked_sub(d)
            } else {
                n.checked_add(d)
            }
        });
        n = next.ok_or(bad(i))?;
    }
    Ok(n)
}

/// `1*DIGIT` into a u64, errors of `kind` at the first byte that is not a digit or overflows.
fn unsigned(value: &str, kind: ErrorKind) -> Result<u64, Error> {
    if value.is_empty() {
        return Err(Error::new(kind, 0));
    }
    let mut n: u64 = 0;
    for (i, c) in value.bytes().enumerate() {
        if !c.is_ascii_digit() {
            return Err(Error::new(kind, i));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(c - b'0')))
            .ok_or(Error::new(kind, i))?;
    }
    Ok(n)
}

fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

fn bad(offset: usize) -> Error {
    Error::new(ErrorKind::BadHeaderValue, offset)
}

/// `s[from..to]`, or `""` if that is not a char-boundary range (never, for the ASCII
/// boundaries the parsers compute).
fn slice(s: &str, from: usize, to: usize) -> &str {
    s.get(from..to).unwrap_or_default()
}

/// The end of the run of bytes from `from` that satisfy `class`.
fn span(b: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    from + b
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&c| class(c))
        .count()
}

const fn is_ctl(c: u8) -> bool {
    (c < 0x20 && c != b'\t') || c == 0x7f
}

const fn is_param_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')
}

const fn is_host(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.')
}

/// RFC 2045 token: visible ASCII except tspecials.
const fn is_mime_token(c: u8) -> bool {
    c > 0x20
        && c < 0x7f
        && !matches!(
            c,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
        )
}

/// RFC 3261 unreserved / escaped / user-unreserved (no `@`, `;`, `:`).
const fn is_uri_user(c: u8) -> bool {
    is_unreserved(c) || matches!(c, b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b'?' | b'/')
}

const fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// Structure-aware fuzzing inputs: every generated value is valid, so `parse(v.to_string())`
/// must give `v` back.
#[cfg(feature = "arbitrary")]
mod arbitrary_impls {
    use std::borrow::Cow;

    use arbitrary::{Arbitrary, Result, Unstructured};

    use super::*;

    impl<'u> Arbitrary<'u> for CSeq<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let method = match Method::new(from_class(u, scan::is_token, 1, 4)?) {
                Some(m) => m,
                None => Method::SERVICE,
            };
            Ok(Self {
                number: u.arbitrary()?,
                method,
            })
        }
    }

    impl<'u> Arbitrary<'u> for EventName<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            Ok(Self(Cow::Owned(from_class(u, scan::is_token, 1, 24)?)))
        }
    }

    impl<'u> Arbitrary<'u> for MessageId<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let id = MessageId::from_u128(u.arbitrary()?);
            Ok(if u.arbitrary()? {
                Self(Cow::Owned(id.0.to_ascii_uppercase()))
            } else {
                id
            })
        }
    }

    impl<'u> Arbitrary<'u> for Date<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let secs = u.int_in_range(0..=MAX_RFC1123_SECS)?;
            Ok(Self {
                text: Cow::Owned(format_rfc1123(secs)),
                unix_secs: secs,
            })
        }
    }

    impl<'u> Arbitrary<'u> for ContentType<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let mut params = Vec::new();
            for _ in 0..u.int_in_range(0..=2)? {
                params.push(Param {
                    name: Cow::Owned(from_class(u, is_mime_token, 1, 8)?),
                    value: quoted_text(u)?,
                });
            }
            Ok(Self {
                kind: Cow::Owned(from_class(u, is_mime_token, 1, 8)?),
                subtype: Cow::Owned(from_class(u, is_mime_token, 1, 16)?),
                params,
            })
        }
    }

    impl<'u> Arbitrary<'u> for Address<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            Ok(match u.int_in_range(0..=2)? {
                0 => Self::Sid(u.arbitrary()?),
                1 => Self::Sip(u.arbitrary()?),
                _ => {
                    let plus = if u.arbitrary()? { "+" } else { "" };
                    Self::Tel(Cow::Owned(format!(
                        "{plus}{}",
                        from_class(u, |c| c.is_ascii_digit(), 1, 15)?
                    )))
                }
            })
        }
    }

    impl<'u> Arbitrary<'u> for SipUri<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let mut params = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                // RFC 3261 paramchar without escapes.
                let param = |c| {
                    is_unreserved(c) || matches!(c, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
                };
                let name = Cow::Owned(from_class(u, param, 1, 6)?);
                let value = if u.arbitrary()? {
                    Some(Cow::Owned(from_class(u, param, 1, 8)?))
                } else {
                    None
                };
                params.push(UriParam { name, value });
            }
            Ok(Self {
                user: Cow::Owned(from_class(u, |c| is_uri_user(c) && c != b'%', 1, 12)?),
                // An RFC 3261 hostname: a label, then a top label that starts with a letter.
                host: Cow::Owned(format!(
                    "{}.{}",
                    from_class(u, |c| c.is_ascii_alphanumeric(), 1, 6)?,
                    from_class(u, |c| c.is_ascii_lowercase(), 1, 4)?
                )),
                params,
            })
        }
    }

    impl<'u> Arbitrary<'u> for Auth<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            Ok(match u.int_in_range(0..=4)? {
                0 => {
                    let mut addresses = vec![u.arbitrary()?];
                    for _ in 0..u.int_in_range(0..=2)? {
                        addresses.push(u.arbitrary()?);
                    }
                    Self::Cs {
                        addresses,
                        credential: quoted_text(u)?,
                    }
                }
                1 => Self::Digest {
                    params: u.arbitrary()?,
                },
                2 => Self::Ticks {
                    auth: quoted_text(u)?,
                },
                3 => Self::Verify {
                    params: u.arbitrary()?,
                },
                _ => {
                    let mut scheme = from_class(u, is_param_name, 1, 8)?;
                    if matches!(scheme.as_str(), "CS" | "Digest" | "TICKS" | "Verify") {
                        scheme.push('x');
                    }
                    Self::Other {
                        scheme: Cow::Owned(scheme),
                        params: u.arbitrary()?,
                    }
                }
            })
        }
    }

    impl<'u> Arbitrary<'u> for HostPort<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            Ok(Self {
                host: Cow::Owned(from_class(u, is_host, 1, 15)?),
                port: u.arbitrary()?,
            })
        }
    }

    impl<'u> Arbitrary<'u> for Challenge<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            Ok(Self {
                scheme: Cow::Owned(from_class(u, is_param_name, 1, 8)?),
                params: u.arbitrary()?,
            })
        }
    }

    impl<'u> Arbitrary<'u> for Params<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let mut params = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                params.push(Param {
                    name: Cow::Owned(from_class(u, is_param_name, 1, 10)?),
                    value: quoted_text(u)?,
                });
            }
            Ok(Self(params))
        }
    }

    /// `min..=max` ASCII characters of `class`.
    fn from_class(
        u: &mut Unstructured<'_>,
        class: fn(u8) -> bool,
        min: usize,
        max: usize,
    ) -> Result<String> {
        let alphabet: Vec<u8> = (0u8..0x80).filter(|&c| class(c)).collect();
        let len = u.int_in_range(min..=max)?;
        (0..len)
            .map(|_| u.choose(&alphabet).map(|&c| char::from(c)))
            .collect()
    }

    /// Any text a quoted string can carry: no control characters but HTAB.
    fn quoted_text(u: &mut Unstructured<'_>) -> Result<Cow<'static, str>> {
        let s: String = u.arbitrary()?;
        Ok(Cow::Owned(
            s.chars()
                .filter(|&c| c == '\t' || !c.is_ascii_control())
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Parses, checks the value and that writing it back gives the input byte for byte.
    macro_rules! accept {
        ($name:ident, $ty:ty, $input:expr, $check:expr) => {
            #[test]
            fn $name() {
                let v = <$ty>::parse($input).unwrap();
                let check: fn(&$ty) = $check;
                check(&v);
                assert_eq!(v.to_string(), $input);
            }
        };
    }

    macro_rules! reject {
        ($name:ident, $ty:ty, $input:expr, $kind:ident, $offset:expr) => {
            #[test]
            fn $name() {
                assert_eq!(
                    <$ty>::parse($input).map(|_| ()),
                    Err(Error::new(ErrorKind::$kind, $offset))
                );
            }
        };
    }

    accept!(sipc_call_id_seed, CallId, "19", |v| assert_eq!(v.0, 19));
    accept!(sipc_call_id_negative, CallId, "-12", |v| assert_eq!(
        v.0,
        -12
    ));
    accept!(
        sipc_call_id_min,
        CallId,
        "-9223372036854775808",
        |v| assert_eq!(v.0, i64::MIN)
    );
    accept!(sipc_cseq_service, CSeq<'_>, "1 S", |v| assert_eq!(
        (v.number, v.method.as_str()),
        (1, "S")
    ));
    accept!(sipc_cseq_invite, CSeq<'_>, "200002 I", |v| assert_eq!(
        (v.number, &v.method),
        (200_002, &Method::INVITE)
    ));
    accept!(sipc_cseq_benotify, CSeq<'_>, "2 BN", |v| assert_eq!(
        v.method,
        Method::BENOTIFY
    ));
    accept!(sipc_length_seed, Length, "60", |v| assert_eq!(v.0, 60));
    accept!(sipc_expires_seed, Expires, "1200", |v| assert_eq!(
        v.0,
        1200
    ));
    accept!(
        sipc_event_seed,
        EventName<'_>,
        "InviteBuddy",
        |v| assert_eq!(v.as_str(), "InviteBuddy")
    );
    accept!(
        sipc_message_id_seed,
        MessageId<'_>,
        "0bb0982aafb546a8af92e8d66fbe962c",
        |v| {
            assert_eq!(v.value(), 0x0bb0_982a_afb5_46a8_af92_e8d6_6fbe_962c);
        }
    );
    accept!(
        sipc_message_id_upper,
        MessageId<'_>,
        "345BC93D43884DA5BC0365A48C91D3E1",
        |v| {
            assert_eq!(
                MessageId::from_u128(v.value()).as_str(),
                "345bc93d43884da5bc0365a48c91d3e1"
            );
        }
    );
    accept!(
        sipc_date_seed,
        Date<'_>,
        "Thu, 17 Dec 2009 16:13:57 GMT",
        |v| assert_eq!(v.unix_secs(), 1_261_066_437)
    );
    accept!(
        sipc_date_leap_day,
        Date<'_>,
        "Tue, 29 Feb 2000 00:00:00 GMT",
        |v| assert_eq!(v.unix_secs(), 951_782_400)
    );
    accept!(
        sipc_date_last,
        Date<'_>,
        "Fri, 31 Dec 9999 23:59:59 GMT",
        |v| assert_eq!(v.unix_secs(), MAX_RFC1123_SECS)
    );
    accept!(
        sipc_content_type_html,
        ContentType<'_>,
        "text/html-fragment",
        |v| assert!(v.is("text", "html-fragment"))
    );
    accept!(
        sipc_content_type_params,
        ContentType<'_>,
        "text/plain;charset=utf-8;x=\"a b\"",
        |v| {
            assert_eq!(
                (v.param("charset"), v.param("X")),
                (Some("utf-8"), Some("a b"))
            );
        }
    );
    accept!(sipc_address_sid, Address<'_>, "815389316", |v| assert_eq!(
        v.sid(),
        Some(815_389_316)
    ));
    accept!(
        sipc_address_sip,
        Address<'_>,
        "sip:815389316@fetion.com.cn;p=72",
        |v| {
            let Address::Sip(uri) = v else {
                panic!("{v:?}")
            };
            assert_eq!(
                (uri.sid(), uri.host.as_ref(), uri.param("p")),
                (Some(815_389_316), "fetion.com.cn", Some("72"))
            );
            assert_eq!(*uri, SipUri::fetion(815_389_316, Some(72)));
        }
    );
    accept!(
        sipc_address_group,
        Address<'_>,
        "sip:PG3581234@fetion.com.cn;p=3421;lr",
        |v| {
            let Address::Sip(uri) = v else {
                panic!("{v:?}")
            };
            assert_eq!((v.sid(), uri.param("lr")), (None, Some("")));
        }
    );
    accept!(
        sipc_address_tel,
        Address<'_>,
        "tel:13800000000",
        |v| assert_eq!((v.sid(), v.tel()), (None, Some("13800000000")))
    );
    accept!(
        sipc_auth_cs_seed,
        Auth<'_>,
        "CS address=\"221.176.31.108:8080;221.176.31.108:443\",credential=\"1279087023.1583835504\"",
        |v| {
            let Auth::Cs {
                addresses,
                credential,
            } = v
            else {
                panic!("{v:?}")
            };
            assert_eq!(
                addresses,
                &[
                    HostPort::new("221.176.31.108", 8080),
                    HostPort::new("221.176.31.108", 443)
                ]
            );
            assert_eq!(credential, "1279087023.1583835504");
        }
    );
    accept!(
        sipc_auth_ticks_seed,
        Auth<'_>,
        "TICKS auth=\"1279087023.1583835504\"",
        |v| {
            assert_eq!(*v, Auth::ticks("1279087023.1583835504"));
            assert_eq!(v.credential(), Some("1279087023.1583835504"));
        }
    );
    accept!(
        sipc_auth_digest_2008,
        Auth<'_>,
        "Digest algorithm=\"SHA1-sess\",response=\"ABC\",cnonce=\"C1\",salt=\"777A6D03\",ssic=\"a;b:c.d\"",
        |v| {
            let Auth::Digest { params } = v else {
                panic!("{v:?}")
            };
            let names: Vec<_> = params.iter().map(|p| p.name.as_ref()).collect();
            assert_eq!(names, ["algorithm", "response", "cnonce", "salt", "ssic"]);
            assert_eq!(v.param("ssic"), Some("a;b:c.d"));
        }
    );
    accept!(
        sipc_auth_verify,
        Auth<'_>,
        "Verify response=\"x\",algorithm=\"picc-ChangeUser\",type=\"GeneralPic\",chid=\"9\"",
        |v| {
            assert!(matches!(v, Auth::Verify { .. }));
            assert_eq!(v.param("chid"), Some("9"));
        }
    );
    accept!(
        sipc_auth_other,
        Auth<'_>,
        "digest nonce=\"q\\\"uote\\\\\"",
        |v| {
            assert_eq!(v.scheme(), "digest");
            assert_eq!(v.param("nonce"), Some("q\"uote\\"));
        }
    );
    accept!(sipc_auth_bare_scheme, Auth<'_>, "Digest", |v| assert_eq!(
        *v,
        Auth::Digest {
            params: Params::default()
        }
    ));
    accept!(
        sipc_challenge_seed,
        Challenge<'_>,
        "Digest algorithm=\"MD5\",nonce=\"4D4D0EB4D0F1D2A8\"",
        |v| {
            assert_eq!(
                (v.algorithm(), v.nonce()),
                (Some("MD5"), Some("4D4D0EB4D0F1D2A8"))
            );
        }
    );

    #[test]
    fn sipc_auth_tolerates_space_after_comma() {
        let v = Auth::parse("Digest response=\"r\", cnonce=\"c\"").unwrap();
        assert_eq!(v.to_string(), "Digest response=\"r\",cnonce=\"c\"");
        let v = Auth::parse("CS credential=\"c\",  address=\"h:1\"").unwrap();
        assert_eq!(v.to_string(), "CS address=\"h:1\",credential=\"c\"");
    }

    #[test]
    fn sipc_unnecessary_escape_is_read_not_kept() {
        let v = Auth::parse("TICKS auth=\"a\\bc\"").unwrap();
        assert_eq!(v.credential(), Some("abc"));
        assert_eq!(v.to_string(), "TICKS auth=\"abc\"");
    }

    #[test]
    fn sipc_values_borrow_and_own() {
        let text = String::from("CS address=\"h:1\",credential=\"c\"");
        let owned = Auth::parse(&text).unwrap().into_owned();
        drop(text);
        assert_eq!(owned.credential(), Some("c"));
        let uri = String::from("sip:1@h;p=2");
        let owned = Address::parse(&uri).unwrap().into_owned();
        drop(uri);
        assert_eq!(owned.sid(), Some(1));
    }

    #[test]
    fn sipc_auth_lenient_reads_the_seed_and_loose_params() {
        let lenient = super::super::Limits::lenient();
        // Seed 004 as printed (docs/protocols/fetion.md §8.6).
        let v = Auth::parse_with("TICKSauth=\"1279087023.1583835504\"", &lenient).unwrap();
        assert_eq!(v, Auth::ticks("1279087023.1583835504"));
        assert_eq!(v.to_string(), "TICKS auth=\"1279087023.1583835504\"");
        let v = Auth::parse_with("CSaddress=\"h:1\",credential=\"c\"", &lenient).unwrap();
        assert_eq!(v.credential(), Some("c"));
        let v = Auth::parse_with(
            "Digest algorithm=MD5 , response = \"r\",cnonce=c n ",
            &lenient,
        )
        .unwrap();
        assert_eq!(
            (
                v.scheme(),
                v.param("algorithm"),
                v.param("response"),
                v.param("cnonce")
            ),
            ("Digest", Some("MD5"), Some("r"), Some("c n"))
        );
        // An unknown glued scheme stays an error; so does everything without the options.
        assert!(Auth::parse_with("Fooauth=\"1\"", &lenient).is_err());
        assert!(Auth::parse("TICKSauth=\"1\"").is_err());
        assert!(Auth::parse("Digest algorithm=MD5").is_err());
    }

    #[test]
    fn sipc_rfc1123_formats_what_it_parses() {
        assert_eq!(format_rfc1123(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_rfc1123(1_261_066_437),
            "Thu, 17 Dec 2009 16:13:57 GMT"
        );
        assert_eq!(Date::from_unix_secs(MAX_RFC1123_SECS + 1), None);
        assert_eq!(
            Date::from_unix_secs(951_782_400)
                .map(|d| d.to_string())
                .as_deref(),
            Some("Tue, 29 Feb 2000 00:00:00 GMT")
        );
    }

    reject!(sipc_call_id_empty, CallId, "", BadHeaderValue, 0);
    reject!(sipc_call_id_word, CallId, "abc", BadHeaderValue, 0);
    reject!(sipc_call_id_sign_only, CallId, "-", BadHeaderValue, 1);
    reject!(sipc_call_id_plus, CallId, "+1", BadHeaderValue, 0);
    reject!(
        sipc_call_id_trailing_space,
        CallId,
        "19 ",
        BadHeaderValue,
        2
    );
    reject!(
        sipc_call_id_overflow,
        CallId,
        "9223372036854775808",
        BadHeaderValue,
        18
    );
    reject!(sipc_cseq_no_method, CSeq<'_>, "12", BadHeaderValue, 2);
    reject!(sipc_cseq_glued, CSeq<'_>, "1S", BadHeaderValue, 1);
    reject!(sipc_cseq_empty_method, CSeq<'_>, "1 ", BadHeaderValue, 2);
    reject!(sipc_cseq_two_spaces, CSeq<'_>, "1  S", BadHeaderValue, 2);
    reject!(sipc_cseq_negative, CSeq<'_>, "-1 S", BadHeaderValue, 0);
    reject!(
        sipc_cseq_method_then_space,
        CSeq<'_>,
        "1 S x",
        BadHeaderValue,
        3
    );
    reject!(sipc_length_sign, Length, "+60", BadLength, 0);
    reject!(
        sipc_length_overflow,
        Length,
        "18446744073709551616",
        BadLength,
        19
    );
    reject!(sipc_expires_word, Expires, "never", BadHeaderValue, 0);
    reject!(
        sipc_event_space,
        EventName<'_>,
        "Start Chat",
        BadHeaderValue,
        5
    );
    reject!(sipc_event_empty, EventName<'_>, "", BadHeaderValue, 0);
    reject!(
        sipc_message_id_short,
        MessageId<'_>,
        "0bb0982a",
        BadHeaderValue,
        8
    );
    reject!(
        sipc_message_id_long,
        MessageId<'_>,
        "0bb0982aafb546a8af92e8d66fbe962c0",
        BadHeaderValue,
        32
    );
    reject!(
        sipc_message_id_not_hex,
        MessageId<'_>,
        "0bb0982aafb546a8af92e8d66fbe962g",
        BadHeaderValue,
        31
    );
    reject!(
        sipc_date_weekday_mismatch,
        Date<'_>,
        "Mon, 17 Dec 2009 16:13:57 GMT",
        BadHeaderValue,
        0
    );
    reject!(
        sipc_date_bad_weekday,
        Date<'_>,
        "Thx, 17 Dec 2009 16:13:57 GMT",
        BadHeaderValue,
        0
    );
    reject!(
        sipc_date_bad_month,
        Date<'_>,
        "Thu, 17 Dez 2009 16:13:57 GMT",
        BadHeaderValue,
        8
    );
    reject!(
        sipc_date_one_digit_day,
        Date<'_>,
        "Thu, 7 Dec 2009 16:13:57 GMT",
        BadHeaderValue,
        6
    );
    reject!(
        sipc_date_no_such_day,
        Date<'_>,
        "Fri, 29 Feb 2009 16:13:57 GMT",
        BadHeaderValue,
        5
    );
    reject!(
        sipc_date_hour,
        Date<'_>,
        "Thu, 17 Dec 2009 24:13:57 GMT",
        BadHeaderValue,
        17
    );
    reject!(
        sipc_date_leap_second,
        Date<'_>,
        "Thu, 17 Dec 2009 16:13:60 GMT",
        BadHeaderValue,
        23
    );
    reject!(
        sipc_date_before_1970,
        Date<'_>,
        "Wed, 31 Dec 1969 23:59:59 GMT",
        BadHeaderValue,
        12
    );
    reject!(
        sipc_date_not_gmt,
        Date<'_>,
        "Thu, 17 Dec 2009 16:13:57 UTC",
        BadHeaderValue,
        26
    );
    reject!(
        sipc_date_truncated,
        Date<'_>,
        "Thu, 17 Dec 2009",
        BadHeaderValue,
        16
    );
    reject!(
        sipc_date_trailing,
        Date<'_>,
        "Thu, 17 Dec 2009 16:13:57 GMT ",
        BadHeaderValue,
        29
    );
    reject!(
        sipc_content_type_no_subtype,
        ContentType<'_>,
        "text",
        BadHeaderValue,
        4
    );
    reject!(
        sipc_content_type_empty_param,
        ContentType<'_>,
        "text/plain;",
        BadHeaderValue,
        11
    );
    reject!(
        sipc_address_seed_space,
        Address<'_>,
        "sip: 815389316@fetion.com.cn;p=72",
        BadHeaderValue,
        4
    );
    reject!(
        sipc_address_no_host,
        Address<'_>,
        "sip:815389316",
        BadHeaderValue,
        13
    );
    reject!(
        sipc_address_empty_param,
        Address<'_>,
        "sip:1@h;",
        BadHeaderValue,
        8
    );
    reject!(
        sipc_address_tel_letters,
        Address<'_>,
        "tel:138x",
        BadHeaderValue,
        7
    );
    reject!(
        sipc_address_tel_empty,
        Address<'_>,
        "tel:",
        BadHeaderValue,
        4
    );
    reject!(sipc_address_word, Address<'_>, "alice", BadHeaderValue, 0);
    reject!(
        sipc_auth_seed_glued,
        Auth<'_>,
        "TICKSauth=\"1\"",
        BadHeaderValue,
        9
    );
    reject!(
        sipc_auth_unquoted,
        Auth<'_>,
        "Digest algorithm=MD5",
        BadHeaderValue,
        17
    );
    reject!(
        sipc_auth_unterminated,
        Auth<'_>,
        "TICKS auth=\"abc",
        BadHeaderValue,
        15
    );
    reject!(
        sipc_auth_control_char,
        Auth<'_>,
        "TICKS auth=\"a\x01\"",
        BadHeaderValue,
        13
    );
    reject!(
        sipc_auth_escaped_control,
        Auth<'_>,
        "TICKS auth=\"a\\\x01\"",
        BadHeaderValue,
        14
    );
    reject!(
        sipc_auth_trailing_comma,
        Auth<'_>,
        "Digest a=\"1\",",
        BadHeaderValue,
        13
    );
    reject!(
        sipc_auth_junk_after_value,
        Auth<'_>,
        "Digest a=\"1\" b",
        BadHeaderValue,
        12
    );
    reject!(
        sipc_auth_ticks_extra,
        Auth<'_>,
        "TICKS auth=\"1\",x=\"2\"",
        BadHeaderValue,
        15
    );
    reject!(sipc_auth_ticks_missing, Auth<'_>, "TICKS", Missing, 5);
    reject!(
        sipc_auth_cs_no_credential,
        Auth<'_>,
        "CS address=\"h:1\"",
        Missing,
        16
    );
    reject!(
        sipc_auth_cs_bad_port,
        Auth<'_>,
        "CS address=\"h:1;g:65536\",credential=\"c\"",
        BadHeaderValue,
        18
    );
    reject!(
        sipc_auth_cs_no_port,
        Auth<'_>,
        "CS address=\"h:1;g\",credential=\"c\"",
        BadHeaderValue,
        17
    );
    reject!(
        sipc_auth_cs_empty_host,
        Auth<'_>,
        "CS address=\":1\",credential=\"c\"",
        BadHeaderValue,
        12
    );
    reject!(
        sipc_auth_space_before_scheme,
        Auth<'_>,
        " Digest",
        BadHeaderValue,
        0
    );
    reject!(
        sipc_challenge_two_spaces,
        Challenge<'_>,
        "Digest  nonce=\"1\"",
        BadHeaderValue,
        7
    );

    /// Every `Arbitrary` value is valid: parsing its text gives it back.
    #[cfg(feature = "arbitrary")]
    #[test]
    fn sipc_arbitrary_values_round_trip() {
        use arbitrary::{Arbitrary, Unstructured};

        fn check<T>(data: &[u8], parse: impl Fn(&str) -> Result<T, Error>)
        where
            T: for<'u> Arbitrary<'u> + fmt::Display + fmt::Debug + PartialEq,
        {
            let Ok(v) = T::arbitrary(&mut Unstructured::new(data)) else {
                return;
            };
            let text = v.to_string();
            assert_eq!(parse(&text).as_ref(), Ok(&v), "{text:?}");
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for len in 0..400 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    (state >> 56) as u8
                })
                .collect();
            check::<CSeq<'static>>(&data, |s| CSeq::parse(s).map(CSeq::into_owned));
            check::<EventName<'static>>(&data, |s| EventName::parse(s).map(EventName::into_owned));
            check::<MessageId<'static>>(&data, |s| MessageId::parse(s).map(MessageId::into_owned));
            check::<Date<'static>>(&data, |s| Date::parse(s).map(Date::into_owned));
            check::<ContentType<'static>>(&data, |s| {
                ContentType::parse(s).map(ContentType::into_owned)
            });
            check::<Address<'static>>(&data, |s| Address::parse(s).map(Address::into_owned));
            check::<Auth<'static>>(&data, |s| Auth::parse(s).map(Auth::into_owned));
            check::<Challenge<'static>>(&data, |s| Challenge::parse(s).map(Challenge::into_owned));
        }
    }

    fn text() -> impl Strategy<Value = String> {
        // Quoted-string content: anything but control characters (HTAB allowed), with the
        // characters that need escaping and the separators values carry made likely.
        prop_oneof!["[ -~\t]{0,12}", "[\"\\\\;:.,= ]{0,6}", "\\PC{0,8}",]
    }

    fn params() -> impl Strategy<Value = Params<'static>> {
        prop::collection::vec(("[A-Za-z0-9._-]{1,10}", text()), 0..5).prop_map(|ps| {
            Params(
                ps.into_iter()
                    .map(|(n, v)| Param {
                        name: Cow::Owned(n),
                        value: Cow::Owned(v),
                    })
                    .collect(),
            )
        })
    }

    fn host_port() -> impl Strategy<Value = HostPort<'static>> {
        ("[A-Za-z0-9.-]{1,15}", any::<u16>()).prop_map(|(h, p)| HostPort::new(h, p))
    }

    fn auth() -> impl Strategy<Value = Auth<'static>> {
        prop_oneof![
            (prop::collection::vec(host_port(), 1..4), text()).prop_map(|(addresses, c)| {
                Auth::Cs {
                    addresses,
                    credential: Cow::Owned(c),
                }
            }),
            params().prop_map(|params| Auth::Digest { params }),
            text().prop_map(|a| Auth::Ticks {
                auth: Cow::Owned(a)
            }),
            params().prop_map(|params| Auth::Verify { params }),
            ("[A-Za-z0-9._-]{1,8}", params())
                .prop_filter("known schemes have their own variants", |(s, _)| {
                    !matches!(s.as_str(), "CS" | "Digest" | "TICKS" | "Verify")
                })
                .prop_map(|(s, params)| Auth::Other {
                    scheme: Cow::Owned(s),
                    params
                }),
        ]
    }

    fn address() -> impl Strategy<Value = Address<'static>> {
        let uri_param = (
            "([A-Za-z0-9_.!~*'():/&+$-]|%[0-9a-f]{2}){1,6}",
            prop::option::of("([A-Za-z0-9_.!~*'():/&+$\\[\\]-]|%[0-9a-f]{2}){1,8}"),
        )
            .prop_map(|(n, v)| UriParam {
                name: Cow::Owned(n),
                value: v.map(Cow::Owned),
            });
        prop_oneof![
            any::<u64>().prop_map(Address::Sid),
            (
                "([A-Za-z0-9_.!~*'()&=+$,?/-]|%[0-9a-fA-F]{2}){1,12}",
                "([a-z0-9]+\\.){0,2}[a-z][a-z0-9]{0,5}(:[0-9]{1,4})?|[0-9]{1,3}(\\.[0-9]{1,3}){3}",
                prop::collection::vec(uri_param, 0..4)
            )
                .prop_map(|(user, host, params)| Address::Sip(SipUri {
                    user: Cow::Owned(user),
                    host: Cow::Owned(host),
                    params
                })),
            "\\+?[0-9]{1,15}".prop_map(|t| Address::Tel(Cow::Owned(t))),
        ]
    }

    proptest! {
        #[test]
        fn sipc_cseq_round_trips(number: u64, method in "[!-9;-~]{1,5}") {
            let v = CSeq::new(number, Method::new(method).unwrap());
            let text = v.to_string();
            prop_assert_eq!(CSeq::parse(&text).unwrap(), v);
        }

        #[test]
        fn sipc_call_id_round_trips(n: i64) {
            prop_assert_eq!(CallId::parse(&CallId(n).to_string()).unwrap(), CallId(n));
        }

        #[test]
        fn sipc_auth_round_trips(v in auth()) {
            let text = v.to_string();
            prop_assert_eq!(Auth::parse(&text).unwrap(), v.clone());
            // Leniency changes nothing on canonical input.
            let lenient = super::super::Limits::lenient();
            prop_assert_eq!(Auth::parse_with(&text, &lenient).unwrap(), v);
        }

        /// Whatever the lenient reader accepts, it reads again the same from its writing, and
        /// it agrees with the strict reader wherever that one accepts.
        #[test]
        fn sipc_auth_lenient_is_a_superset(s in "(TICKS|CS|Digest|Verify|X)( ?)[a-z =,\"]{0,20}") {
            let lenient = super::super::Limits::lenient();
            let loose = Auth::parse_with(&s, &lenient);
            if let Ok(strict) = Auth::parse(&s) {
                prop_assert_eq!(&loose, &Ok(strict));
            }
            if let Ok(v) = loose {
                let text = v.to_string();
                prop_assert_eq!(Auth::parse_with(&text, &lenient).unwrap(), v);
            }
        }

        #[test]
        fn sipc_challenge_round_trips(scheme in "[A-Za-z0-9._-]{1,8}", params in params()) {
            let v = Challenge { scheme: Cow::Owned(scheme), params };
            let text = v.to_string();
            prop_assert_eq!(Challenge::parse(&text).unwrap(), v);
        }

        #[test]
        fn sipc_address_round_trips(v in address()) {
            let text = v.to_string();
            prop_assert_eq!(Address::parse(&text).unwrap(), v);
        }

        #[test]
        fn sipc_date_round_trips(secs in 0..=MAX_RFC1123_SECS) {
            let text = format_rfc1123(secs);
            prop_assert_eq!(parse_rfc1123(&text), Ok(secs));
        }

        #[test]
        fn sipc_content_type_round_trips(
            kind in "[a-z0-9.+-]{1,8}",
            sub in "[a-z0-9.+-]{1,12}",
            ps in prop::collection::vec(("[a-z0-9-]{1,6}", text()), 0..3),
        ) {
            let params = ps.into_iter().map(|(n, v)| Param { name: Cow::Owned(n), value: Cow::Owned(v) }).collect();
            let v = ContentType { kind: Cow::Owned(kind), subtype: Cow::Owned(sub), params };
            let text = v.to_string();
            prop_assert_eq!(ContentType::parse(&text).unwrap(), v);
        }

        #[test]
        fn sipc_header_values_never_panic(s in "\\PC{0,40}") {
            let _ = (CallId::parse(&s), CSeq::parse(&s), Length::parse(&s), Date::parse(&s), MessageId::parse(&s));
            let _ = (ContentType::parse(&s), Address::parse(&s), Auth::parse(&s), Challenge::parse(&s));
        }
    }
}
