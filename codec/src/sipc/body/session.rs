//! The session lines of an INVITE body.

use super::*;

/// The session description of an INVITE (seed 004):
///
/// ```text
/// session = *( line CRLF )
/// line    = key "=" value            ; key: one ASCII letter; value: UTF-8 without CR or LF
///
/// s=session
/// m=message
/// a=user:sip:815389316@fetion.com.cn;p=72      ; one per participant
/// ```
///
/// Lines keep their order, unknown lines included, so CRLF input round-trips byte for byte.
/// Lines ending in a bare LF are accepted only with [`SessionOptions::allow_bare_lf`] and are
/// written back with CRLF.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Session<'a> {
    /// The lines in order.
    pub lines: Vec<SessionLine<'a>>,
}

/// One line of a [`Session`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionLine<'a> {
    /// `m=<value>` (`message`).
    Media(Cow<'a, str>),
    /// `s=<value>` (`session`).
    Name(Cow<'a, str>),
    /// Any other line: never `s=`, `m=` or `a=user:`.
    Other {
        /// The key letter.
        key: char,
        /// The text after `=`.
        value: Cow<'a, str>,
    },
    /// `a=user:<uri>`: a participant.
    User(Cow<'a, str>),
}

/// Opt-in leniencies for [`Session::parse_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// Accept lines ending in a bare LF (captures pasted from logs lose their CRs).
    pub allow_bare_lf: bool,
}

impl<'a> Session<'a> {
    /// The INVITE body: `s=session`, `m=message`, then `a=user:<uri>` per participant.
    pub fn invite<U: Into<Cow<'a, str>>>(users: impl IntoIterator<Item = U>) -> Self {
        let mut lines = vec![
            SessionLine::Name(Cow::Borrowed("session")),
            SessionLine::Media(Cow::Borrowed("message")),
        ];
        lines.extend(users.into_iter().map(|u| SessionLine::User(u.into())));
        Self { lines }
    }

    /// Decodes a session body; bare LF line ends are refused.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with(body, &SessionOptions::default())
    }

    /// Decodes a session body with `options`.
    pub fn parse_with(body: &'a [u8], options: &SessionOptions) -> Result<Self, Error> {
        let text = utf8(body)?;
        let mut lines = Vec::new();
        let mut pos = 0;
        while pos < text.len() {
            // A last line without its line end is as wrong as a bare LF: the count `L` and
            // the grammar both say every line ends in CRLF.
            let Some(line) = crate::scan::line(body, pos, options.allow_bare_lf)? else {
                return Err(Error::new(ErrorKind::BadLineEnding, text.len()));
            };
            let content = text.get(line.start..line.end).unwrap_or_default();
            lines.push(session_line(content, line.start)?);
            pos = line.next;
        }
        Ok(Self { lines })
    }

    /// The `s=` value.
    pub fn name(&self) -> Option<&str> {
        self.lines.iter().find_map(|l| match l {
            SessionLine::Name(v) => Some(v.as_ref()),
            _ => None,
        })
    }

    /// The `m=` value.
    pub fn media(&self) -> Option<&str> {
        self.lines.iter().find_map(|l| match l {
            SessionLine::Media(v) => Some(v.as_ref()),
            _ => None,
        })
    }

    /// The participants' URIs (`a=user:` lines), in order.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| match l {
            SessionLine::User(v) => Some(v.as_ref()),
            _ => None,
        })
    }

    /// Writes the lines, each ending in CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for line in &self.lines {
            let (prefix, value) = line.parts();
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        self.lines
            .iter()
            .map(|l| {
                let (prefix, value) = l.parts();
                prefix.len() + value.len() + 2
            })
            .sum()
    }

    /// The body as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// The same body owning its text.
    pub fn into_owned(self) -> Session<'static> {
        Session {
            lines: self
                .lines
                .into_iter()
                .map(|l| match l {
                    SessionLine::Media(v) => SessionLine::Media(own(v)),
                    SessionLine::Name(v) => SessionLine::Name(own(v)),
                    SessionLine::Other { key, value } => SessionLine::Other {
                        key,
                        value: own(value),
                    },
                    SessionLine::User(v) => SessionLine::User(own(v)),
                })
                .collect(),
        }
    }
}

impl SessionLine<'_> {
    /// The line's text up to its value, and its value.
    fn parts(&self) -> (Cow<'static, str>, &str) {
        match self {
            Self::Media(v) => (Cow::Borrowed("m="), v),
            Self::Name(v) => (Cow::Borrowed("s="), v),
            Self::Other { key, value } => (Cow::Owned(format!("{key}=")), value),
            Self::User(v) => (Cow::Borrowed("a=user:"), v),
        }
    }
}

/// Parses one session line's text, which started at `at` in the body.
fn session_line(content: &str, at: usize) -> Result<SessionLine<'_>, Error> {
    let mut chars = content.chars();
    let key = chars
        .next()
        .filter(char::is_ascii_alphabetic)
        .ok_or(Error::new(ErrorKind::Unexpected, at))?;
    if chars.next() != Some('=') {
        return Err(Error::new(ErrorKind::Unexpected, at + 1));
    }
    let value = content.get(2..).unwrap_or_default();
    Ok(match (key, value.strip_prefix("user:")) {
        ('s', _) => SessionLine::Name(Cow::Borrowed(value)),
        ('m', _) => SessionLine::Media(Cow::Borrowed(value)),
        ('a', Some(uri)) => SessionLine::User(Cow::Borrowed(uri)),
        _ => SessionLine::Other {
            key,
            value: Cow::Borrowed(value),
        },
    })
}
