//! MSNP 21–24 commands: the command line, the payload of exactly `LEN` bytes, layered
//! `SDG`/`NFY` payloads ([`payload`]) and the `MSGR\…` XML documents ([`msgr`]).
//!
//! Sources: the msndevs protocol wiki (seeds 000, 001), Miranda NG's MSNP24 plugin and
//! JavaSkype (MSNP24 clients), MSNPSharp's MSNP21 notes, Escargot and ReLiveWP (servers); see
//! `docs/protocols/msnp.md`.
//!
//! ```text
//! command  = verb SP [trid SP] [target SP] paylen CRLF payload
//! verb     = 3UPALPHA / 3DIGIT           ; a 3-digit error code takes the verb's place
//! trid     = 1*10DIGIT                   ; fits in 32 bits
//! target   = scope [ "\" resource ]      ; CON, CON\USER, MSGR\RECENTCONVERSATIONS, OK, PUT
//! scope    = UPALPHA *(UPALPHA / DIGIT) ; resource likewise
//! paylen   = 1*DIGIT                     ; may be 0
//! payload  = exactly paylen bytes        ; a reader never looks for a terminator
//! ```
//!
//! MSNP24 lines have all four tokens (`GET 12 MSGR\RECENTCONVERSATIONS 517`). MSNP21 drops
//! one of the middle two in places: `SDG 0 332` (no target), `NFY PUT 863` (no TrID). A
//! middle token made only of digits is the TrID, one starting with a letter is the target.
//! MSNP ≤18 lines without a payload length (`CHG 5 NLN 0`, `201 19`) are out of scope.
//!
//! Deviation, opt-in through [`Limits::allow_bare_lf`]: a command line ending in a bare LF.

use std::borrow::Cow;

use crate::{Error, ErrorKind, Needed, Status, scan};

mod codec;
pub mod msgr;
pub mod payload;

pub use codec::Msnp;

/// One MSNP command with its payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Command<'a> {
    /// Three upper-case letters (`GET`, `SDG`) or a three-digit error code (`911`).
    pub verb: Cow<'a, str>,
    /// The transaction id, absent in MSNP21 pushes such as `NFY PUT 863`.
    pub trid: Option<u32>,
    /// `scope[\resource]`, absent in MSNP21 `SDG 0 332`.
    pub target: Option<Cow<'a, str>>,
    /// Exactly `paylen` bytes: in MSNP24, outer headers, a blank line, then the body.
    #[serde(serialize_with = "crate::ser::bytes")]
    pub payload: Cow<'a, [u8]>,
}

/// Bounds and opt-in leniencies for [`parse_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in the command line before its line ending (CRLF or, leniently, LF).
    pub max_line: usize,
    /// Largest payload length accepted.
    pub max_payload: usize,
    /// Accept a command line ending in a bare LF.
    pub allow_bare_lf: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line: 1024,
            max_payload: 1024 * 1024,
            allow_bare_lf: false,
        }
    }
}

impl Limits {
    /// The defaults with every leniency switched on.
    pub fn lenient() -> Self {
        Self {
            allow_bare_lf: true,
            ..Self::default()
        }
    }
}

/// Decodes one command from the start of `buf` with the default [`Limits`].
///
/// Returns the command and the number of bytes it occupies.
pub fn parse(buf: &[u8]) -> crate::Result<(Command<'_>, usize)> {
    parse_with(buf, &Limits::default())
}

/// Decodes one command from the start of `buf`.
pub fn parse_with<'a>(buf: &'a [u8], limits: &Limits) -> crate::Result<(Command<'a>, usize)> {
    // The bound is on the line's text, so that a line is judged the same whether it ends in
    // CRLF or (leniently) in a bare LF: its encoding, always CRLF, then fits the same bound
    // (fuzz msnp_parse, crash-945aeb2b). The line is scanned within the bound plus the longest
    // line ending only (see `scan::within`).
    let window = limits.max_line.saturating_add(2);
    let Some(line) = scan::line(scan::within(buf, window), 0, limits.allow_bare_lf)? else {
        // No line ending within the window: the text is too long once a byte past the bound
        // is seen that is not the CR of a CRLF still to come.
        if buf.get(limits.max_line).is_some_and(|&b| b != b'\r') {
            return Err(Error::new(ErrorKind::LimitExceeded, limits.max_line));
        }
        return Ok(Status::Incomplete(Needed::Unknown));
    };
    if line.end > limits.max_line {
        return Err(Error::new(ErrorKind::LimitExceeded, limits.max_line));
    }
    let bytes = buf.get(..line.end).unwrap_or_default();
    let mut tokens: [(usize, &[u8]); 5] = [(0, &[]); 5];
    let mut count = 0;
    let mut at = 0;
    for token in bytes.split(|&b| b == b' ') {
        if token.is_empty() {
            return Err(Error::new(ErrorKind::BadStartLine, at));
        }
        let Some(slot) = tokens.get_mut(count) else {
            return Err(Error::new(ErrorKind::BadStartLine, at - 1));
        };
        *slot = (at, token);
        count += 1;
        at += token.len() + 1;
    }
    if count > 4 {
        return Err(Error::new(ErrorKind::BadStartLine, tokens[4].0 - 1));
    }
    if count < 2 {
        return Err(Error::new(ErrorKind::BadStartLine, line.end));
    }
    let (_, verb) = tokens[0];
    if !is_verb(verb) {
        return Err(Error::new(ErrorKind::BadVerb, 0));
    }
    let (len_at, len) = tokens[count - 1];
    let (trid, target) = match &tokens[1..count - 1] {
        [] => (None, None),
        [(at, t)] if t.first().is_some_and(u8::is_ascii_digit) => (Some(trid(t, *at)?), None),
        [(at, t)] => (None, Some(target(t, *at)?)),
        [(tat, t), (gat, g)] => (Some(trid(t, *tat)?), Some(target(g, *gat)?)),
        _ => return Err(Error::new(ErrorKind::BadStartLine, line.end)),
    };
    let len = scan::decimal(len, 20).ok_or(Error::new(ErrorKind::BadLength, len_at))?;
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l <= limits.max_payload)
        .ok_or(Error::new(ErrorKind::LimitExceeded, len_at))?;
    let end = line.next + len;
    let Some(payload) = buf.get(line.next..end) else {
        return Ok(Status::Incomplete(Needed::bytes(end - buf.len())));
    };
    // INVARIANT: the verb and target were checked to be ASCII above: one conversion covers
    // the line up to the end of the last of them.
    let text = scan::utf8(buf, 0, target.map_or(verb.len(), |(_, end)| end))?;
    let verb = text.get(..verb.len()).unwrap_or_default();
    let target = target.map(|(start, end)| Cow::Borrowed(text.get(start..end).unwrap_or_default()));
    let command = Command {
        verb: Cow::Borrowed(verb),
        trid,
        target,
        payload: Cow::Borrowed(payload),
    };
    Ok(Status::Complete((command, end)))
}

impl<'a> Command<'a> {
    /// A command with an empty payload.
    pub fn new(verb: impl Into<Cow<'a, str>>, trid: Option<u32>, target: Option<&'a str>) -> Self {
        Self {
            verb: verb.into(),
            trid,
            target: target.map(Cow::Borrowed),
            payload: Cow::Borrowed(b""),
        }
    }

    /// Sets the payload (builder style); the length on the wire always follows it.
    #[must_use]
    pub fn with_payload(mut self, payload: impl Into<Cow<'a, [u8]>>) -> Self {
        self.payload = payload.into();
        self
    }

    /// Whether the verb is a three-digit error code.
    pub fn is_error(&self) -> bool {
        self.verb.bytes().all(|b| b.is_ascii_digit())
    }

    /// The error code, for error commands.
    pub fn error_code(&self) -> Option<u16> {
        if self.is_error() {
            self.verb.parse().ok()
        } else {
            None
        }
    }

    /// The part of the target before `\` (`MSGR` of `MSGR\RECENTCONVERSATIONS`).
    pub fn scope(&self) -> Option<&str> {
        self.target
            .as_deref()
            .map(|t| t.split_once('\\').map_or(t, |(s, _)| s))
    }

    /// The part of the target after `\`, if any.
    pub fn resource(&self) -> Option<&str> {
        self.target
            .as_deref()
            .and_then(|t| t.split_once('\\'))
            .map(|(_, r)| r)
    }

    /// The payload split into outer headers and body (MSNP24 form), if it is not empty.
    pub fn parse_payload(&self) -> Option<Result<payload::Payload<'_>, Error>> {
        (!self.payload.is_empty()).then(|| payload::Payload::parse(&self.payload))
    }

    /// Writes the command in wire form; the length token is the payload's length.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(self.verb.as_bytes());
        if let Some(trid) = self.trid {
            out.push(b' ');
            out.extend_from_slice(trid.to_string().as_bytes());
        }
        if let Some(target) = &self.target {
            out.push(b' ');
            out.extend_from_slice(target.as_bytes());
        }
        out.push(b' ');
        out.extend_from_slice(self.payload.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.payload);
    }

    /// The command in wire form, as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        self.verb.len()
            + self.trid.map_or(0, |t| 1 + scan::decimal_len(u64::from(t)))
            + self.target.as_ref().map_or(0, |t| 1 + t.len())
            + 1
            + scan::decimal_len(self.payload.len() as u64)
            + 2
            + self.payload.len()
    }

    /// The same command owning its data.
    pub fn into_owned(self) -> Command<'static> {
        Command {
            verb: Cow::Owned(self.verb.into_owned()),
            trid: self.trid,
            target: self.target.map(|t| Cow::Owned(t.into_owned())),
            payload: Cow::Owned(self.payload.into_owned()),
        }
    }
}

/// Whether `v` is a verb: three upper-case letters or three digits.
pub fn is_verb(v: &[u8]) -> bool {
    v.len() == 3 && (v.iter().all(u8::is_ascii_uppercase) || v.iter().all(u8::is_ascii_digit))
}

/// Whether `t` is a target: `scope[\resource]`, each an upper-case ASCII letter then
/// upper-case letters or digits (JavaSkype matches `[A-Z]+(?:\\[A-Z]+)?`).
pub fn is_target(t: &[u8]) -> bool {
    // One pass (a `split` iterator cost five times as much on `CON`): `at_start` is whether
    // the next byte begins a part.
    let (mut at_start, mut parts) = (true, 1);
    for &b in t {
        if b == b'\\' && !at_start && parts == 1 {
            (at_start, parts) = (true, 2);
        } else if at_start && b.is_ascii_uppercase() {
            at_start = false;
        } else if at_start || !(b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return false;
        }
    }
    !at_start
}

fn trid(t: &[u8], at: usize) -> Result<u32, Error> {
    scan::decimal(t, 10)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(Error::new(ErrorKind::BadTransactionId, at))
}

fn target(t: &[u8], at: usize) -> Result<(usize, usize), Error> {
    if is_target(t) {
        Ok((at, at + t.len()))
    } else {
        Err(Error::new(ErrorKind::BadTarget, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_target_is_the_grammar_of_scope_and_resource() {
        // The grammar as written (`split` on `\`); `is_target` reads it in one pass.
        fn by_parts(t: &[u8]) -> bool {
            let part = |p: &[u8]| {
                p.first().is_some_and(u8::is_ascii_uppercase)
                    && p.iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            };
            let parts: Vec<&[u8]> = t.split(|&b| b == b'\\').collect();
            parts.len() <= 2 && parts.iter().all(|p| part(p))
        }
        // Every string of up to five bytes over an alphabet with each kind of byte.
        let alphabet = b"AZ09a\\ \xff";
        let mut strings: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..5 {
            let longer: Vec<Vec<u8>> = strings
                .iter()
                .filter(|s| s.len() == strings.last().map_or(0, Vec::len))
                .flat_map(|s| alphabet.iter().map(move |&b| [s.as_slice(), &[b]].concat()))
                .collect();
            strings.extend(longer);
        }
        assert!(strings.len() > 30_000);
        for t in &strings {
            assert_eq!(
                is_target(t),
                by_parts(t),
                "{:?}",
                String::from_utf8_lossy(t)
            );
        }
        assert!(is_target(b"MSGR\\THREAD") && is_target(b"CON") && !is_target(b"A\\B\\C"));
    }

    fn ok(buf: &[u8]) -> (Command<'_>, usize) {
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
    fn msnp_four_token_command_round_trips() {
        let wire = b"GET 12 MSGR\\RECENTCONVERSATIONS 4\r\n\r\nab";
        let (cmd, n) = ok(wire);
        assert_eq!(n, wire.len());
        assert_eq!(
            (cmd.verb.as_ref(), cmd.trid, cmd.scope(), cmd.resource()),
            ("GET", Some(12), Some("MSGR"), Some("RECENTCONVERSATIONS"))
        );
        assert_eq!(cmd.to_bytes(), wire);
        assert_eq!(cmd.encoded_len(), wire.len());
    }

    #[test]
    fn msnp_zero_length_forms() {
        let (cmd, n) = ok(b"PNG 5 CON 0\r\nPNG");
        assert_eq!((n, cmd.payload.len()), (13, 0));
        assert!(cmd.parse_payload().is_none());
        let (cmd, n) = ok(b"PNG 5 CON 2\r\n\r\n");
        assert_eq!(n, 15);
        let payload = cmd.parse_payload().unwrap().unwrap();
        assert!(payload.headers.is_empty() && payload.body.is_empty());
    }

    #[test]
    fn msnp21_three_token_forms() {
        let (cmd, _) = ok(b"SDG 0 0\r\n");
        assert_eq!((cmd.trid, cmd.target.as_deref()), (Some(0), None));
        let (cmd, _) = ok(b"NFY PUT 0\r\n");
        assert_eq!((cmd.trid, cmd.target.as_deref()), (None, Some("PUT")));
        let (cmd, _) = ok(b"911 3 CON 0\r\n");
        assert_eq!(cmd.error_code(), Some(911));
    }

    #[test]
    fn msnp_every_proper_prefix_is_incomplete() {
        let wire = b"SDG 1 MSGR 3\r\nabc";
        for i in 0..wire.len() {
            assert!(
                matches!(parse(&wire[..i]), Ok(Status::Incomplete(_))),
                "prefix {i}"
            );
        }
        assert_eq!(parse(&wire[..15]), Ok(Status::Incomplete(Needed::bytes(2))));
    }

    #[test]
    fn msnp_line_limit_bounds_unterminated_input() {
        let buf = vec![b'A'; 2000];
        assert_eq!(
            parse(&buf).unwrap_err(),
            Error::new(ErrorKind::LimitExceeded, 1024)
        );
    }

    // Why: a bare LF past the limit was reported when it arrived with the rest, the limit
    // when the stream was cut before it (fuzz stream_chunking-ff6616f6).
    #[test]
    fn msnp_line_limit_wins_over_a_bad_ending_past_it() {
        let mut buf = vec![b'A'; 2000];
        buf[1500] = b'\n';
        for len in [1025, 1501, 2000] {
            assert_eq!(
                parse(&buf[..len]).unwrap_err(),
                Error::new(ErrorKind::LimitExceeded, 1024),
                "{len}"
            );
        }
    }

    // Why: a 1024-byte line ending in a bare LF was accepted leniently, and its encoding (CRLF,
    // 1025 bytes) was refused: the bound counted the line ending (fuzz msnp_parse,
    // crash-945aeb2b). The bound is on the text now, whatever ends it.
    #[test]
    fn msnp_line_limit_is_on_the_text_whatever_ends_it() {
        let text = format!("PNG {} 0", "K".repeat(1024 - 6));
        let lenient = Limits::lenient();
        for ending in ["\r\n", "\n"] {
            let line = format!("{text}{ending}");
            let Ok(Status::Complete((cmd, used))) = parse_with(line.as_bytes(), &lenient) else {
                panic!("{ending:?}: {:?}", parse_with(line.as_bytes(), &lenient));
            };
            assert_eq!(used, line.len());
            let mut out = Vec::new();
            cmd.encode(&mut out);
            assert_eq!(out, format!("{text}\r\n").as_bytes());
            assert!(matches!(parse(&out), Ok(Status::Complete(_))));
        }
        let long = format!("PNG {} 0\r\n", "K".repeat(1024 - 5));
        for cut in [1025, 1026, long.len()] {
            assert_eq!(
                parse_with(&long.as_bytes()[..cut], &lenient).unwrap_err(),
                Error::new(ErrorKind::LimitExceeded, 1024),
                "{cut}"
            );
        }
        // The CR of a CRLF may still come: not yet too long.
        assert!(matches!(
            parse(format!("{text}\r").as_bytes()),
            Ok(Status::Incomplete(_))
        ));
    }

    reject!(msnp_lowercase_verb, b"get 1 MSGR 0\r\n", BadVerb, 0);
    reject!(msnp_long_verb, b"GETX 1 MSGR 0\r\n", BadVerb, 0);
    reject!(msnp_bad_trid, b"GET 1x MSGR 0\r\n", BadTransactionId, 4);
    reject!(
        msnp_trid_overflow,
        b"GET 4294967296 MSGR 0\r\n",
        BadTransactionId,
        4
    );
    reject!(msnp_bad_target, b"GET 1 MSGR\\ 0\r\n", BadTarget, 6);
    reject!(msnp_bad_length, b"GET 1 MSGR 12a\r\n", BadLength, 11);
    reject!(msnp_five_tokens, b"GET 1 MSGR X 0\r\n", BadStartLine, 12);
    reject!(msnp_double_space, b"GET  1 MSGR 0\r\n", BadStartLine, 4);
    reject!(msnp_one_token, b"OUT\r\n", BadStartLine, 3);
    reject!(
        msnp_huge_length,
        b"SDG 1 MSGR 99999999999\r\n",
        LimitExceeded,
        11
    );
    reject!(msnp_bare_lf, b"PNG 1 CON 0\n", BadLineEnding, 11);
}
