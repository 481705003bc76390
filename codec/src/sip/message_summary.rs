//! `application/simple-message-summary` bodies: the message-waiting state that the
//! `message-summary` event package carries in NOTIFY and PUBLISH (RFC 3842 §5.2), with the
//! message-context classes of RFC 3458 §6.2.
//!
//! ```text
//! message-summary  = msg-status-line CRLF [ msg-account CRLF ]
//!                    *( msg-summary-line CRLF ) *opt-msg-headers
//! msg-status-line  = "Messages-Waiting" HCOLON msg-status
//! msg-status       = "yes" / "no"
//! msg-account      = "Message-Account" HCOLON Account-URI
//! msg-summary-line = message-context-class HCOLON newmsgs SLASH oldmsgs
//!                    [ LPAREN new-urgentmsgs SLASH old-urgentmsgs RPAREN ]
//! opt-msg-headers  = CRLF 1*( extension-header CRLF )
//! message-context-class = "voice-message" / "fax-message" / "pager-message"
//!                       / "multimedia-message" / "text-message" / "none"
//! msgcount         = 1*DIGIT       ; newmsgs, oldmsgs, new-urgentmsgs, old-urgentmsgs
//! ```
//!
//! Literal names and `yes`/`no` compare ignoring case (ABNF strings); the encoder writes the
//! canonical form every source shows — `Messages-Waiting: yes`, `Message-Account: <uri>`,
//! `Voice-Message: 2/8 (0/2)`, class names in header case — so a canonical body round-trips
//! byte for byte and any other valid body round-trips as a value.
//!
//! Deviations: counts must fit in 32 bits; white space around `:`, `/`, `(` and `)` is SP or
//! HTAB only (no folded lines); an extension group is an order-preserving header block whose
//! values lose the white space after the colon. Opt-in: bare-LF line endings and a last line
//! without its CRLF ([`Limits`]).

use std::borrow::Cow;

use crate::header::Headers;
use crate::{Error, ErrorKind, scan};

/// A decoded message summary.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct MessageSummary<'a> {
    /// `Messages-Waiting: yes` (true) or `no`.
    pub waiting: bool,
    /// `Message-Account`: the URI a user contacts to fetch the messages (seed 003 uses it to
    /// point at the MSRP mailbox), as written.
    pub account: Option<Cow<'a, str>>,
    /// The summary lines, in order.
    pub summaries: Vec<Summary>,
    /// Optional header groups, each introduced by a blank line (one per message, with `To`,
    /// `From`, `Subject`, `Date`, `Priority`, `Message-ID`, … in RFC 3842's example).
    pub extensions: Vec<Headers<'a>>,
}

/// One summary line: counts of new and old messages of a class, and optionally how many of
/// them are urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Summary {
    /// The message-context class.
    pub class: Class,
    /// New (unread) messages.
    pub new: u32,
    /// Old (read, kept) messages.
    pub old: u32,
    /// The urgent ones among them, if the line says.
    pub urgent: Option<Urgent>,
}

/// The `(new-urgent/old-urgent)` part of a summary line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Urgent {
    /// New urgent messages.
    pub new: u32,
    /// Old urgent messages.
    pub old: u32,
}

/// A message-context class (RFC 3458 §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Class {
    /// `Fax-Message`.
    #[serde(rename = "Fax-Message")]
    Fax,
    /// `Multimedia-Message`.
    #[serde(rename = "Multimedia-Message")]
    Multimedia,
    /// `None`: a message of no particular context.
    #[serde(rename = "None")]
    None,
    /// `Pager-Message`.
    #[serde(rename = "Pager-Message")]
    Pager,
    /// `Text-Message`: what seed 003 announces for stored chat messages.
    #[serde(rename = "Text-Message")]
    Text,
    /// `Voice-Message`.
    #[serde(rename = "Voice-Message")]
    Voice,
}

/// Bounds and opt-in leniencies for [`parse_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most lines in a body.
    pub max_lines: usize,
    /// Accept lines ending in a bare LF.
    pub allow_bare_lf: bool,
    /// Accept a last line without its line ending.
    pub allow_unterminated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_lines: 256,
            allow_bare_lf: false,
            allow_unterminated: false,
        }
    }
}

impl Limits {
    /// The defaults with every leniency switched on.
    pub fn lenient() -> Self {
        Self {
            allow_bare_lf: true,
            allow_unterminated: true,
            ..Self::default()
        }
    }
}

/// Decodes a whole body with the default [`Limits`]. Error offsets are relative to `body`.
pub fn parse(body: &[u8]) -> Result<MessageSummary<'_>, Error> {
    parse_with(body, &Limits::default())
}

/// Decodes a whole body.
pub fn parse_with<'a>(body: &'a [u8], limits: &Limits) -> Result<MessageSummary<'a>, Error> {
    let text = scan::utf8(body, 0, body.len())?;
    let mut summary = MessageSummary::new(false);
    let mut state = State::Start;
    let mut pos = 0;
    let mut lines = 0;
    while pos < body.len() {
        lines += 1;
        if lines > limits.max_lines {
            return Err(Error::new(ErrorKind::LimitExceeded, pos));
        }
        let (start, end, next) = match scan::line(body, pos, limits.allow_bare_lf)? {
            Some(l) => (l.start, l.end, l.next),
            // A CR is the only line break `line` leaves in an unterminated rest (as its last
            // byte, waiting for an LF): kept in the value it would re-encode as a bare CR.
            None if limits.allow_unterminated => {
                match memchr::memchr(b'\r', body.get(pos..).unwrap_or_default()) {
                    Some(cr) => return Err(Error::new(ErrorKind::BadLineEnding, pos + cr)),
                    None => (pos, body.len(), body.len()),
                }
            }
            None => return Err(Error::new(ErrorKind::BadLineEnding, body.len())),
        };
        let line = text.get(start..end).unwrap_or_default();
        pos = next;
        if line.is_empty() {
            if state == State::Group(0) {
                return Err(Error::new(ErrorKind::Unexpected, start));
            }
            if state == State::Start {
                return Err(Error::new(ErrorKind::Missing, start));
            }
            summary.extensions.push(Headers::new());
            state = State::Group(0);
            continue;
        }
        let (name, value, value_at) = split_line(line, start)?;
        match state {
            State::Start => {
                if !name.eq_ignore_ascii_case("Messages-Waiting") {
                    return Err(Error::new(ErrorKind::Missing, start));
                }
                summary.waiting = if value.eq_ignore_ascii_case("yes") {
                    true
                } else if value.eq_ignore_ascii_case("no") {
                    false
                } else {
                    return Err(Error::new(ErrorKind::BadHeaderValue, value_at));
                };
                state = State::Status;
            }
            State::Status | State::Summaries => {
                if name.eq_ignore_ascii_case("Messages-Waiting") {
                    return Err(Error::new(ErrorKind::DuplicateHeader, start));
                }
                if name.eq_ignore_ascii_case("Message-Account") {
                    if state != State::Status {
                        return Err(Error::new(ErrorKind::Unexpected, start));
                    }
                    check_account(value, value_at)?;
                    summary.account = Some(Cow::Borrowed(value));
                } else {
                    let class =
                        Class::parse(name).ok_or(Error::new(ErrorKind::Unexpected, start))?;
                    summary
                        .summaries
                        .push(Summary::parse_counts(class, value, value_at)?);
                }
                state = State::Summaries;
            }
            State::Group(n) => {
                if let Some(group) = summary.extensions.last_mut() {
                    group.push(name, value);
                }
                state = State::Group(n + 1);
            }
        }
    }
    match state {
        State::Start => Err(Error::new(ErrorKind::Missing, body.len())),
        State::Group(0) => Err(Error::new(ErrorKind::Missing, body.len())),
        _ => Ok(summary),
    }
}

impl<'a> MessageSummary<'a> {
    /// A summary with only its status line.
    pub fn new(waiting: bool) -> Self {
        Self {
            waiting,
            account: None,
            summaries: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// Sets `Message-Account` (builder style).
    #[must_use]
    pub fn with_account(mut self, uri: impl Into<Cow<'a, str>>) -> Self {
        self.account = Some(uri.into());
        self
    }

    /// Appends a summary line (builder style).
    #[must_use]
    pub fn with_summary(mut self, summary: Summary) -> Self {
        self.summaries.push(summary);
        self
    }

    /// The first summary line of `class`.
    pub fn summary(&self, class: Class) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.class == class)
    }

    /// New messages over every class.
    pub fn new_messages(&self) -> u64 {
        self.summaries.iter().map(|s| u64::from(s.new)).sum()
    }

    /// Whether the status line agrees with the counts: `Messages-Waiting: no` with new
    /// messages counted is a contradiction a conformance check should flag (docs/protocols/sip.md
    /// §6.1). `yes` without summary lines is consistent (RFC 3842 allows the
    /// status line alone).
    pub fn is_consistent(&self) -> bool {
        self.waiting || self.new_messages() == 0
    }

    /// Writes the body in canonical form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(if self.waiting {
            b"Messages-Waiting: yes\r\n"
        } else {
            b"Messages-Waiting: no\r\n"
        });
        if let Some(account) = &self.account {
            out.extend_from_slice(b"Message-Account: ");
            out.extend_from_slice(account.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for s in &self.summaries {
            out.extend_from_slice(s.class.as_str().as_bytes());
            out.extend_from_slice(b": ");
            push_pair(out, s.new, s.old);
            if let Some(u) = s.urgent {
                out.extend_from_slice(b" (");
                push_pair(out, u.new, u.old);
                out.push(b')');
            }
            out.extend_from_slice(b"\r\n");
        }
        for group in &self.extensions {
            out.extend_from_slice(b"\r\n");
            group.encode(out);
        }
    }

    /// The body in wire form, as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        let status = if self.waiting { 23 } else { 22 };
        let account = self.account.as_ref().map_or(0, |a| 17 + a.len() + 2);
        let summaries: usize = self
            .summaries
            .iter()
            .map(|s| {
                let urgent = s.urgent.map_or(0, |u| 2 + pair_len(u.new, u.old) + 1);
                s.class.as_str().len() + 2 + pair_len(s.new, s.old) + urgent + 2
            })
            .sum();
        let groups: usize = self.extensions.iter().map(|g| 2 + g.encoded_len()).sum();
        status + account + summaries + groups
    }

    /// The same summary owning its text.
    pub fn into_owned(self) -> MessageSummary<'static> {
        MessageSummary {
            waiting: self.waiting,
            account: self.account.map(|a| Cow::Owned(a.into_owned())),
            summaries: self.summaries,
            extensions: self
                .extensions
                .into_iter()
                .map(Headers::into_owned)
                .collect(),
        }
    }
}

impl Summary {
    /// A summary line without urgent counts.
    pub const fn new(class: Class, new: u32, old: u32) -> Self {
        Self {
            class,
            new,
            old,
            urgent: None,
        }
    }

    /// The same line with urgent counts (builder style).
    #[must_use]
    pub const fn with_urgent(mut self, new: u32, old: u32) -> Self {
        self.urgent = Some(Urgent { new, old });
        self
    }

    /// `newmsgs SLASH oldmsgs [ LPAREN new-urgentmsgs SLASH old-urgentmsgs RPAREN ]`, with
    /// the SWS those separators allow; `at` is where `value` starts in the body.
    fn parse_counts(class: Class, value: &str, at: usize) -> Result<Self, Error> {
        let mut c = Cursor {
            b: value.as_bytes(),
            pos: 0,
            at,
        };
        let new = c.count()?;
        c.expect(b'/')?;
        let old = c.count()?;
        c.skip_wsp();
        let urgent = if c.peek() == Some(b'(') {
            c.pos += 1;
            let new = c.count()?;
            c.expect(b'/')?;
            let old = c.count()?;
            c.expect(b')')?;
            c.skip_wsp();
            Some(Urgent { new, old })
        } else {
            None
        };
        if c.pos != c.b.len() {
            return Err(c.bad());
        }
        Ok(Self {
            class,
            new,
            old,
            urgent,
        })
    }
}

impl Class {
    /// Every class, in the order RFC 3458 §6.2 lists them.
    pub const ALL: [Self; 6] = [
        Self::Voice,
        Self::Fax,
        Self::Pager,
        Self::Multimedia,
        Self::Text,
        Self::None,
    ];

    /// The name as written in bodies (`Voice-Message`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "Voice-Message",
            Self::Fax => "Fax-Message",
            Self::Pager => "Pager-Message",
            Self::Multimedia => "Multimedia-Message",
            Self::Text => "Text-Message",
            Self::None => "None",
        }
    }

    /// The class named `name`, ignoring case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the status line.
    Start,
    /// After the status line: the account may follow.
    Status,
    /// After a summary line or the account.
    Summaries,
    /// In an extension group with this many headers so far.
    Group(usize),
}

/// `name HCOLON value` → (name, value, where the value starts), the value without the white
/// space around it.
fn split_line(line: &str, at: usize) -> Result<(&str, &str, usize), Error> {
    let b = line.as_bytes();
    let name_end = b
        .iter()
        .position(|&c| !super::is_token(c))
        .unwrap_or(b.len());
    if name_end == 0 {
        return Err(Error::new(ErrorKind::BadHeader, at));
    }
    let mut i = name_end;
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return Err(Error::new(ErrorKind::BadHeader, at + i));
    }
    i += 1;
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let value = line
        .get(i..)
        .unwrap_or_default()
        .trim_end_matches([' ', '\t']);
    Ok((line.get(..name_end).unwrap_or_default(), value, at + i))
}

/// `Account-URI = SIP-URI / SIPS-URI / absoluteURI`: checked as a scheme, a colon and
/// visible ASCII.
fn check_account(value: &str, at: usize) -> Result<(), Error> {
    let b = value.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return Err(Error::new(ErrorKind::BadHeaderValue, at));
    }
    let scheme = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
        .unwrap_or(b.len());
    if b.get(scheme) != Some(&b':') {
        return Err(Error::new(ErrorKind::BadHeaderValue, at + scheme));
    }
    if b.len() == scheme + 1 {
        return Err(Error::new(ErrorKind::BadHeaderValue, at + b.len()));
    }
    match b.iter().position(|c| !c.is_ascii_graphic()) {
        Some(i) => Err(Error::new(ErrorKind::BadHeaderValue, at + i)),
        None => Ok(()),
    }
}

struct Cursor<'b> {
    b: &'b [u8],
    pos: usize,
    at: usize,
}

impl Cursor<'_> {
    fn bad(&self) -> Error {
        Error::new(ErrorKind::BadHeaderValue, self.at + self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_wsp(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), Error> {
        self.skip_wsp();
        if self.peek() != Some(c) {
            return Err(self.bad());
        }
        self.pos += 1;
        Ok(())
    }

    fn count(&mut self) -> Result<u32, Error> {
        self.skip_wsp();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = self.b.get(start..self.pos).unwrap_or_default();
        scan::decimal(digits, 10)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(Error::new(ErrorKind::BadHeaderValue, self.at + start))
    }
}

fn push_pair(out: &mut Vec<u8>, a: u32, b: u32) {
    out.extend_from_slice(a.to_string().as_bytes());
    out.push(b'/');
    out.extend_from_slice(b.to_string().as_bytes());
}

fn pair_len(a: u32, b: u32) -> usize {
    scan::decimal_len(u64::from(a)) + 1 + scan::decimal_len(u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &[u8]) -> (ErrorKind, usize) {
        let e = parse(body).unwrap_err();
        (e.kind(), e.offset())
    }

    macro_rules! reject {
        ($name:ident, $input:expr, $kind:ident, $offset:expr) => {
            #[test]
            fn $name() {
                assert_eq!(err($input), (ErrorKind::$kind, $offset));
            }
        };
    }

    #[test]
    fn summary_canonical_bodies_round_trip_exactly() {
        for body in [
            &b"Messages-Waiting: yes\r\nMessage-Account: sip:bob@127.0.0.1:15080\r\nVoice-Message: 2/8 (0/2)\r\n"[..],
            b"Messages-Waiting: no\r\n",
            b"Messages-Waiting: yes\r\nMessage-Account: sip:offline@sylk.example.com\r\nText-Message: 3/0\r\n",
            b"Messages-Waiting: yes\r\nVoice-Message: 4/8 (1/2)\r\n\r\nTo: <sip:alice@atlanta.example.com>\r\nFrom: <sip:bob@biloxi.example.com>\r\nSubject: carpool tomorrow?\r\n\r\nMessage-ID: 1@vmail.example.com\r\n",
        ] {
            let s = parse(body).unwrap();
            assert_eq!(s.to_bytes(), body, "{s:?}");
            assert_eq!(s.encoded_len(), body.len());
            assert_eq!(parse(&s.to_bytes()).unwrap(), s);
        }
    }

    #[test]
    fn summary_reads_the_rfc_example_fields() {
        let s = parse(b"Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 4/8 (1/2)\r\nText-Message: 3/0\r\n").unwrap();
        assert!(s.waiting);
        assert_eq!(s.account.as_deref(), Some("sip:alice@vmail.example.com"));
        assert_eq!(
            s.summary(Class::Voice),
            Some(&Summary::new(Class::Voice, 4, 8).with_urgent(1, 2))
        );
        assert_eq!(
            s.summary(Class::Text),
            Some(&Summary::new(Class::Text, 3, 0))
        );
        assert_eq!(s.new_messages(), 7);
        assert!(s.is_consistent());
    }

    #[test]
    fn summary_other_valid_spellings_round_trip_as_values() {
        let s =
            parse(b"messages-waiting :\tYES\r\nvoice-message: 2 / 8 ( 0 / 2 ) \r\nNONE:1/1\r\n")
                .unwrap();
        assert!(s.waiting);
        assert_eq!(
            s.summaries[0],
            Summary::new(Class::Voice, 2, 8).with_urgent(0, 2)
        );
        assert_eq!(s.summaries[1].class, Class::None);
        assert_eq!(
            s.to_bytes(),
            b"Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/2)\r\nNone: 1/1\r\n"
        );
    }

    #[test]
    fn summary_inconsistency_is_reported_not_rejected() {
        let s = parse(b"Messages-Waiting: no\r\nText-Message: 1/0\r\n").unwrap();
        assert!(!s.is_consistent());
    }

    #[test]
    fn summary_lenient_forms_are_opt_in() {
        let body = b"Messages-Waiting: yes\nText-Message: 1/0";
        assert_eq!(err(body), (ErrorKind::BadLineEnding, 21));
        let s = parse_with(body, &Limits::lenient()).unwrap();
        assert_eq!(
            s.to_bytes(),
            b"Messages-Waiting: yes\r\nText-Message: 1/0\r\n"
        );
        let few = Limits {
            max_lines: 1,
            ..Limits::default()
        };
        assert_eq!(
            parse_with(b"Messages-Waiting: no\r\nNone: 0/0\r\n", &few).unwrap_err(),
            Error::new(ErrorKind::LimitExceeded, 22)
        );
    }

    #[test]
    fn summary_builder_encodes() {
        let s = MessageSummary::new(true)
            .with_account("sip:offline@sylk.example.com")
            .with_summary(Summary::new(Class::Text, 3, 0));
        assert_eq!(
            s.to_bytes(),
            b"Messages-Waiting: yes\r\nMessage-Account: sip:offline@sylk.example.com\r\nText-Message: 3/0\r\n"
        );
        assert_eq!(s.encoded_len(), s.to_bytes().len());
    }

    // Found by fuzzing (sip_parse, crash 47762f66): with `allow_unterminated` a last line
    // ending in a lone CR kept the CR in its value, which then re-encoded as a bare CR.
    #[test]
    fn fuzz_sip_parse_47762f66() {
        let body = b"Messages-Waiting: no\r\n\r\nX: y\r";
        assert_eq!(
            parse_with(body, &Limits::lenient()),
            Err(Error::new(ErrorKind::BadLineEnding, 28))
        );
        let s = parse_with(b"Messages-Waiting: no\r\n\r\nX: y", &Limits::lenient()).unwrap();
        assert_eq!(parse(&s.to_bytes()), Ok(s));
    }

    reject!(summary_empty, b"", Missing, 0);
    reject!(
        summary_no_status_line,
        b"Voice-Message: 1/0\r\n",
        Missing,
        0
    );
    reject!(
        summary_status_maybe,
        b"Messages-Waiting: maybe\r\n",
        BadHeaderValue,
        18
    );
    reject!(
        summary_status_twice,
        b"Messages-Waiting: no\r\nMessages-Waiting: no\r\n",
        DuplicateHeader,
        22
    );
    reject!(
        summary_account_after_summary,
        b"Messages-Waiting: no\r\nNone: 0/0\r\nMessage-Account: sip:a@b\r\n",
        Unexpected,
        33
    );
    reject!(
        summary_account_not_uri,
        b"Messages-Waiting: no\r\nMessage-Account: alice\r\n",
        BadHeaderValue,
        44
    );
    reject!(
        summary_unknown_class,
        b"Messages-Waiting: yes\r\nVideo-Message: 1/0\r\n",
        Unexpected,
        23
    );
    reject!(
        summary_count_not_digits,
        b"Messages-Waiting: yes\r\nText-Message: x/0\r\n",
        BadHeaderValue,
        37
    );
    reject!(
        summary_count_overflow,
        b"Messages-Waiting: yes\r\nText-Message: 4294967296/0\r\n",
        BadHeaderValue,
        37
    );
    reject!(
        summary_missing_slash,
        b"Messages-Waiting: yes\r\nText-Message: 1\r\n",
        BadHeaderValue,
        38
    );
    reject!(
        summary_unclosed_urgent,
        b"Messages-Waiting: yes\r\nText-Message: 1/0 (1/0\r\n",
        BadHeaderValue,
        45
    );
    reject!(
        summary_trailing_garbage,
        b"Messages-Waiting: yes\r\nText-Message: 1/0 x\r\n",
        BadHeaderValue,
        41
    );
    reject!(
        summary_empty_group,
        b"Messages-Waiting: yes\r\n\r\n",
        Missing,
        25
    );
    reject!(
        summary_two_blank_lines,
        b"Messages-Waiting: yes\r\n\r\n\r\nTo: <sip:a@b>\r\n",
        Unexpected,
        25
    );
    reject!(
        summary_no_colon,
        b"Messages-Waiting: yes\r\nText-Message 1/0\r\n",
        BadHeader,
        36
    );
    reject!(
        summary_unterminated,
        b"Messages-Waiting: no",
        BadLineEnding,
        20
    );
    reject!(
        summary_not_utf8,
        b"Messages-Waiting: no\r\n\r\nX: \xff\r\n",
        Utf8,
        27
    );
}
