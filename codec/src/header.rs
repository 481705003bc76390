//! The order-preserving `Name: value` header block shared by SIP-C, MSNP payloads (outer and
//! layered blocks), SIP and MSRP.
//!
//! ```text
//! block  = *( header CRLF ) CRLF
//! header = name ":" SP value          ; name: 1*token-char, value: UTF-8 without CR/LF
//! ```
//!
//! Headers keep wire order and repeats (`K:` in SIP-C). A [`Header::value`] is the value
//! without the white space around it (RFC 3261 §7.3.1: "the value … is not part of the white
//! space"; `Name:value`, `Name :  value` and `Name:\tvalue` are the same header), and the
//! line's own separator and trailing white space are kept beside it, so that re-encoding a
//! block is byte-exact whatever white space the writer chose.
//!
//! [`Forms`] switches on, per protocol, what the others must refuse: RFC 3261 §7.3.1's white
//! space before the colon and folded continuation lines (SIP), and a block that ends at an
//! end-line instead of a blank line (MSRP, RFC 4975 §7.1).

use std::borrow::Cow;

use smallvec::SmallVec;

use crate::{Error, ErrorKind, Needed, Status, scan};

/// One header line.
///
/// Two lines that differ only in the white space around the colon or after the value have
/// the same `name` and `value` but are not `==`: equality is of the encoded line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Header<'a> {
    /// The name as written (`F`, `Set-Registration`).
    pub name: Cow<'a, str>,
    /// The value as written, without the white space (SP, HTAB) before and after it and
    /// without the line ending. Assigning it keeps the line's separator and trailing white
    /// space.
    pub value: Cow<'a, str>,
    /// How the line differs from `name: value`; `None` for a canonical line (boxed, so that
    /// the usual header stays two words of text wide).
    #[serde(skip)]
    ws: Option<Box<Ws<'a>>>,
}

/// The white space of a line that is not written `name: value`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Ws<'a> {
    /// What the line has between the name and the value (`":"`, `" :\t"`, `":   "`); empty
    /// for the canonical `": "`.
    sep: Cow<'a, str>,
    /// The white space after the value, as written.
    trail: Cow<'a, str>,
}

impl<'a> Ws<'a> {
    /// `None` when `sep` (empty for `": "`) and `trail` make the canonical form.
    fn new(sep: Cow<'a, str>, trail: Cow<'a, str>) -> Option<Box<Self>> {
        (!sep.is_empty() || !trail.is_empty()).then(|| Box::new(Self { sep, trail }))
    }
}

/// Header lines in wire order, repeats included.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Headers<'a>(pub Vec<Header<'a>>);

/// Bounds and leniencies for a header block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    /// Most header lines in one block.
    pub max_headers: usize,
    /// Accept lines ending in a bare LF.
    pub allow_bare_lf: bool,
    /// Accept `Name:value` with no space after the colon (re-encoded with the space).
    pub allow_no_space: bool,
}

/// Header-line forms beyond `Name: value` that only some protocols have; all off in
/// [`Forms::NONE`], which is what [`parse_block`] uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forms {
    /// Accept SP or HTAB between the name and the colon (`Subject : lunch`, RFC 3261
    /// `HCOLON = *( SP / HTAB ) ":" SWS`). The name is kept without them and re-encoded as
    /// `Subject: lunch`.
    pub allow_space_before_colon: bool,
    /// Accept continuation lines that start with SP or HTAB (RFC 3261 §7.3.1: "the line break
    /// and the white space at the beginning of the next line are treated as a single SP").
    /// A folded value is unfolded that way (so it owns its text) and re-encoded on one line.
    pub allow_folding: bool,
    /// A line that starts with this byte ends the block without being consumed and without a
    /// blank line (MSRP's end-line, `-------`): the block's blank-line start and end are then
    /// both that line's first byte.
    pub end_line: Option<u8>,
}

impl Forms {
    /// No extra forms: `Name: value` lines ended by a blank line.
    pub const NONE: Self = Self {
        allow_space_before_colon: false,
        allow_folding: false,
        end_line: None,
    };
}

impl<'a> Header<'a> {
    /// A header from a name and a value, written `name: value`. White space at either end
    /// of `value` is written as given but is not part of [`value`](Self::value) (it is what a
    /// reader of the line would not count either).
    pub fn new(name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        let value = value.into();
        let (lead, end) = trimmed(&value);
        if lead == 0 && end == value.len() {
            return Self {
                name: name.into(),
                value,
                ws: None,
            };
        }
        let sep = if lead == 0 {
            String::new()
        } else {
            format!(": {}", value.get(..lead).unwrap_or_default())
        };
        let trail = value.get(end..).unwrap_or_default().to_owned();
        let value = match value {
            Cow::Borrowed(v) => Cow::Borrowed(v.get(lead..end).unwrap_or_default()),
            Cow::Owned(v) => Cow::Owned(v.get(lead..end).unwrap_or_default().to_owned()),
        };
        Self {
            name: name.into(),
            value,
            ws: Ws::new(Cow::Owned(sep), Cow::Owned(trail)),
        }
    }

    /// `name: value` as read from a canonical line.
    fn canonical(name: &'a str, value: &'a str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            value: Cow::Borrowed(value),
            ws: None,
        }
    }

    /// The same header owning its text.
    pub fn into_owned(self) -> Header<'static> {
        Header {
            name: Cow::Owned(self.name.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
            ws: self.ws.map(|ws| {
                Box::new(Ws {
                    sep: Cow::Owned(ws.sep.into_owned()),
                    trail: Cow::Owned(ws.trail.into_owned()),
                })
            }),
        }
    }

    /// Whether the line is written in the form RFC 3261 §7.3.1 says implementations SHOULD
    /// use: `name: value` with one SP after the colon and none around the value.
    pub fn is_canonical(&self) -> bool {
        self.ws.is_none()
    }

    /// Writes the line as it was read (or `name: value` for a header made with
    /// [`new`](Self::new)), then CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(self.sep().as_bytes());
        out.extend_from_slice(self.value.as_bytes());
        out.extend_from_slice(self.trail().as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        self.name.len() + self.sep().len() + self.value.len() + self.trail().len() + 2
    }

    fn sep(&self) -> &str {
        match &self.ws {
            Some(ws) if !ws.sep.is_empty() => &ws.sep,
            _ => ": ",
        }
    }

    fn trail(&self) -> &str {
        self.ws.as_ref().map_or("", |ws| &ws.trail)
    }
}

/// Where the value of `raw` starts and ends once SP and HTAB are taken off both ends.
fn trimmed(raw: &str) -> (usize, usize) {
    let lead = raw.len() - raw.trim_start_matches(WSP).len();
    let end = raw.trim_end_matches(WSP).len().max(lead);
    (lead, end)
}

/// RFC 3261 `WSP`: the white space of a header line.
const WSP: [char; 2] = [' ', '\t'];

/// Whether `b` is a [`WSP`] byte. A table look-up: the scan tests both ends of every value,
/// and two loads cost fewer instructions there than the four compares of `b == b' ' ||
/// b == b'\t'` (callgrind, seed 004's `M`).
fn is_wsp(b: u8) -> bool {
    IS_WSP[usize::from(b)]
}

/// [`is_wsp`] by byte.
const IS_WSP: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t[b'\t' as usize] = true;
    t
};

impl<'a> Headers<'a> {
    /// An empty block.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// The first value of `name` (names compare ASCII case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_ref())
    }

    /// Every value of `name`, in wire order.
    pub fn get_all<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'n, 'a> {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_ref())
    }

    /// How many lines are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.0
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .count()
    }

    /// Appends a header.
    pub fn push(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        self.0.push(Header::new(name, value));
    }

    /// Replaces the value of the first `name` in place, or appends it.
    pub fn set(&mut self, name: &str, value: impl Into<Cow<'a, str>>) {
        let value = value.into();
        match self
            .0
            .iter_mut()
            .find(|h| h.name.eq_ignore_ascii_case(name))
        {
            Some(h) => *h = Header::new(h.name.clone(), value),
            None => self.0.push(Header::new(name.to_owned(), value)),
        }
    }

    /// Removes every `name`; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
        before - self.0.len()
    }

    /// The lines in wire order.
    pub fn iter(&self) -> core::slice::Iter<'_, Header<'a>> {
        self.0.iter()
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes every line (not the blank line that ends a block).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for h in &self.0 {
            h.encode(out);
        }
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        self.0.iter().map(Header::encoded_len).sum()
    }

    /// The same block owning its text.
    pub fn into_owned(self) -> Headers<'static> {
        Headers(self.0.into_iter().map(Header::into_owned).collect())
    }
}

impl<'a> IntoIterator for &'a Headers<'_> {
    type Item = &'a Header<'a>;
    type IntoIter = core::slice::Iter<'a, Header<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        // The lifetimes collapse to the shorter one; headers only ever shrink their borrow.
        self.0.iter()
    }
}

/// Parses header lines starting at `start` up to and including the blank line that ends the
/// block. Returns the headers and the offset just past the blank line. Offsets in errors are
/// absolute into `buf`.
///
/// The caller bounds the total size (it knows the frame limit); this bounds the line count.
pub fn parse_block<'a>(
    buf: &'a [u8],
    start: usize,
    limits: &BlockLimits,
) -> crate::Result<(Headers<'a>, usize)> {
    parse_block_with(buf, start, limits, &Forms::NONE)
}

/// [`parse_block`] with the extra line [`Forms`] of SIP or MSRP. When `forms.end_line` ends
/// the block, the offset returned is that of the end-line, which is not consumed.
pub fn parse_block_with<'a>(
    buf: &'a [u8],
    start: usize,
    limits: &BlockLimits,
    forms: &Forms,
) -> crate::Result<(Headers<'a>, usize)> {
    // One structural pass records each line's name and value as spans (on the stack for the
    // usual handful of headers); then one UTF-8 validation covers the whole block, because a
    // `from_utf8` per name and per value cost a third of the time. An error depends only on
    // the bytes before it (a UTF-8 error earlier than a structural one wins), so a stream cut
    // anywhere reports what the whole stream does (law 3).
    let mut spans = Spans::default();
    let (blank, end) = match scan_block_with(buf, start, limits, forms, &mut spans) {
        Ok(Status::Complete(v)) => v,
        Ok(Status::Incomplete(n)) => return Ok(Status::Incomplete(n)),
        Err(e) => return Err(scan::utf8(buf, start, e.offset()).err().unwrap_or(e)),
    };
    let text = scan::utf8(buf, start, blank)?;
    Ok(Status::Complete((build(text, start, &spans), end)))
}

/// The headers whose `spans` (offsets into the buffer that `text` starts at `base` of) were
/// recorded by [`scan_block`].
pub(crate) fn build<'a>(text: &'a str, base: usize, spans: &Spans) -> Headers<'a> {
    // Plain loops into a vector of the right size: collecting through `Chain`'s fold with
    // the `folded` test per line cost twice as many instructions (callgrind, seed 004's `M`).
    // The closures capture by value (`move`): captured by reference, `text`, `base` and
    // `span` were loaded again from the stack for every header.
    let span = move |from: usize, to: usize| text.get(from - base..to - base).unwrap_or_default();
    let one = |&[n0, n1, v0, v1]: &[usize; 4]| {
        let name = Cow::Borrowed(span(n0, n1));
        let raw = span(v0, v1);
        if spans.folded && raw.contains('\n') {
            // Unfolded text owns its bytes and is re-encoded on one line.
            let value = unfold(raw);
            let (lead, end) = trimmed(&value);
            let value = value.get(lead..end).unwrap_or_default().to_owned();
            return Header::new(name, value);
        }
        let (lead, end) = trimmed(raw);
        let sep = span(n1, v0 + lead);
        Header {
            name,
            value: Cow::Borrowed(raw.get(lead..end).unwrap_or_default()),
            ws: Ws::new(
                Cow::Borrowed(if sep == ": " { "" } else { sep }),
                Cow::Borrowed(raw.get(end..).unwrap_or_default()),
            ),
        }
    };
    let lines = spans.lines.as_slice();
    let mut headers = Vec::with_capacity(lines.len());
    if !spans.liberal {
        // Every line is `name: value` (the usual case): no trimming and no separator to
        // keep, so each header is two borrowed slices. They are cut off the front of the
        // rest of the block in turn: the name, the `": "`, the value, the line ending (each
        // line starts where the one before ended, as the scan found them; the separator
        // and the line ending are stripped, which needs no char-boundary test). Slicing
        // each out with `get(from..to)` tested all four ends for a char boundary: about
        // 120 instructions more per SIP-C parse (callgrind, seed 004's `M`).
        let mut rest = lines
            .first()
            .and_then(|&[n0, ..]| text.get(n0 - base..))
            .unwrap_or_default();
        let canonical = |&[n0, n1, v0, v1]: &[usize; 4]| {
            let (name, after) = rest.split_at_checked(n1 - n0).unwrap_or_default();
            let after = after.strip_prefix(": ").unwrap_or_default();
            let (value, after) = after.split_at_checked(v1 - v0).unwrap_or_default();
            rest = after
                .strip_prefix("\r\n")
                .or_else(|| after.strip_prefix('\n'))
                .unwrap_or_default();
            Header::canonical(name, value)
        };
        headers.extend(lines.iter().map(canonical));
        return Headers(headers);
    }
    for s in lines {
        headers.push(one(s));
    }
    Headers(headers)
}

/// A value with its folds (`*WSP line-break 1*WSP`) replaced by one SP; borrowed when it has
/// none. A fold right after the colon leaves no space (it is the colon's white space).
fn unfold(value: &str) -> Cow<'_, str> {
    if !value.contains('\n') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut lines = value.split('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let line = if i == 0 {
            line
        } else {
            line.trim_start_matches([' ', '\t'])
        };
        let line = if lines.peek().is_some() {
            line.trim_end_matches([' ', '\t', '\r'])
        } else {
            line
        };
        if i > 0 && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    Cow::Owned(out)
}

/// How many header lines' spans live on the stack before [`Spans`] spills to the heap.
const INLINE_SPANS: usize = 16;

/// Name and value spans of a block's lines: the first [`INLINE_SPANS`] on the stack.
#[derive(Default)]
pub(crate) struct Spans {
    /// `[name start, name end, value start, value end]` per line. A `SmallVec`, whose inline
    /// storage is not initialised, rather than an array that `Default` zeroes: that `memset`
    /// of 16 spans cost about 49 instructions per SIP-C parse (callgrind, seed 004's `M`).
    lines: SmallVec<[[usize; 4]; INLINE_SPANS]>,
    /// Whether a value was folded over several lines (then [`build`] unfolds values).
    folded: bool,
    /// Whether a line is not written `name: value` (white space other than one SP after the
    /// colon, or around the value): then [`build`] trims values and keeps separators.
    liberal: bool,
    /// A one-byte header name whose lines the scan notes as it goes (SIP-C's `L`), so that the
    /// caller need not compare every built header's name to find it.
    key: Option<u8>,
    /// The index of the first line named [`key`](Self::key), and where the second one's name
    /// starts.
    keyed: (Option<usize>, Option<usize>),
}

impl Spans {
    /// Makes the scan note the lines named by the one byte `key` (see [`Spans::keyed`]).
    /// Set in place: building a new `Spans` with it moved the whole inline storage.
    pub(crate) fn key_by(&mut self, key: u8) {
        self.key = Some(key);
    }

    /// The index of the first line named by the key byte, and the offset of the second such
    /// line's name; `None` where there is no such line.
    pub(crate) fn keyed(&self) -> (Option<usize>, Option<usize>) {
        self.keyed
    }

    /// The number of lines recorded.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Line `i`'s value as bytes of the scanned `buf` and its offset there, without the white
    /// space at either end: no char-boundary tests, for a value read as a number.
    #[inline]
    pub(crate) fn value_bytes<'a>(&self, buf: &'a [u8], i: usize) -> Option<(usize, &'a [u8])> {
        let &[_, _, mut v0, mut v1] = self.lines.get(i)?;
        if self.liberal {
            while v0 < v1 && buf.get(v0).is_some_and(|&b| is_wsp(b)) {
                v0 += 1;
            }
            while v1 > v0 && buf.get(v1 - 1).is_some_and(|&b| is_wsp(b)) {
                v1 -= 1;
            }
        }
        Some((v0, buf.get(v0..v1)?))
    }

    /// Line `i`'s name and value in `text` (which starts at offset `base` of the scanned
    /// buffer), the value without the white space at either end, as [`build`] gives them.
    /// `None` past the last line, and for a folded value, which only [`build`] unfolds.
    pub(crate) fn name_value<'a>(
        &self,
        text: &'a str,
        base: usize,
        i: usize,
    ) -> Option<(&'a str, &'a str)> {
        let &[n0, n1, v0, v1] = self.lines.get(i)?;
        let name = text.get(n0 - base..n1 - base)?;
        let raw = text.get(v0 - base..v1 - base)?;
        if !self.liberal {
            return Some((name, raw));
        }
        if self.folded && raw.contains('\n') {
            return None;
        }
        let (lead, end) = trimmed(raw);
        Some((name, raw.get(lead..end)?))
    }

    fn push(&mut self, span: [usize; 4]) {
        self.lines.push(span);
    }

    /// Moves the value end of the last span (a folded continuation line).
    fn extend_last(&mut self, value_end: usize) {
        if let Some(span) = self.lines.last_mut() {
            span[3] = value_end;
            self.folded = true;
            self.liberal = true;
        }
    }
}

/// The structural pass of [`parse_block`]: records the spans and returns where the blank
/// line starts and where the block ends.
pub(crate) fn scan_block(
    buf: &[u8],
    start: usize,
    limits: &BlockLimits,
    spans: &mut Spans,
) -> crate::Result<(usize, usize)> {
    scan_block_with(buf, start, limits, &Forms::NONE, spans)
}

/// [`scan_block`] with extra line [`Forms`].
#[inline(always)] // so that `scan_block` gets a copy with `Forms::NONE` folded in
pub(crate) fn scan_block_with(
    buf: &[u8],
    start: usize,
    limits: &BlockLimits,
    forms: &Forms,
    spans: &mut Spans,
) -> crate::Result<(usize, usize)> {
    let mut pos = start;
    // The lines so far, counted here: `SmallVec::len` tests where the vector lives.
    let mut count = spans.len();
    loop {
        let name_start = pos;
        let first = buf.get(pos).copied();
        if first.is_some() && first == forms.end_line {
            return Ok(Status::Complete((pos, pos)));
        }
        if forms.allow_folding && matches!(first, Some(b' ' | b'\t')) && spans.len() > 0 {
            // A continuation of the previous value: its line joins that value's span.
            let rest = buf.get(pos..).unwrap_or_default();
            let Some(rel) = scan::find_line_break(rest) else {
                return Ok(Status::Incomplete(Needed::Unknown));
            };
            let value_end = pos + rel;
            pos = match (rest.get(rel), rest.get(rel + 1)) {
                (Some(b'\r'), Some(b'\n')) => value_end + 2,
                (Some(b'\r'), None) => return Ok(Status::Incomplete(Needed::Unknown)),
                (Some(b'\n'), _) if limits.allow_bare_lf => value_end + 1,
                _ => return Err(Error::new(ErrorKind::BadLineEnding, value_end)),
            };
            spans.extend_last(value_end);
            continue;
        }
        let mut i = pos;
        while buf.get(i).is_some_and(|&b| scan::is_token(b)) {
            i += 1;
        }
        let Some(&stop) = buf.get(i) else {
            return Ok(Status::Incomplete(Needed::Unknown));
        };
        if i == pos {
            // No name: the blank line that ends the block, or garbage.
            let end = match (stop, buf.get(i + 1)) {
                (b'\r', Some(b'\n')) => i + 2,
                (b'\r', None) => return Ok(Status::Incomplete(Needed::Unknown)),
                (b'\n', _) if limits.allow_bare_lf => i + 1,
                (b'\r' | b'\n', _) => return Err(Error::new(ErrorKind::BadLineEnding, i)),
                _ => return Err(Error::new(ErrorKind::BadHeader, i)),
            };
            return Ok(Status::Complete((pos, end)));
        }
        let name_end = i;
        if forms.allow_space_before_colon {
            while matches!(buf.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            if buf.get(i).is_none() {
                return Ok(Status::Incomplete(Needed::Unknown));
            }
        }
        if buf.get(i) != Some(&b':') {
            return Err(Error::new(ErrorKind::BadHeader, i));
        }
        if count >= limits.max_headers {
            return Err(Error::new(ErrorKind::LimitExceeded, pos));
        }
        // Noted before the rest of the line is read (an error there discards the spans), so
        // that the first byte need not be kept across the search for the line break.
        if name_end == name_start + 1 && first == spans.key {
            match spans.keyed {
                (None, _) => spans.keyed.0 = Some(count),
                (Some(_), None) => spans.keyed.1 = Some(name_start),
                _ => {}
            }
        }
        let mut value_start = i + 1;
        // Whether the line is not `name: value` (white space other than one SP between the
        // name and the value, or around the value): then `build` trims values and keeps it.
        let mut liberal = i != name_end;
        match buf.get(value_start) {
            Some(b' ') => value_start += 1,
            // `Name:` with nothing after it: an empty value.
            Some(b'\r' | b'\n') => liberal = true,
            Some(_) if limits.allow_no_space => liberal = true,
            Some(_) => return Err(Error::new(ErrorKind::BadHeader, value_start)),
            None => return Ok(Status::Incomplete(Needed::Unknown)),
        }
        let Some(value_end) = scan::find_line_break_from(buf, value_start) else {
            return Ok(Status::Incomplete(Needed::Unknown));
        };
        pos = match (buf.get(value_end), buf.get(value_end + 1)) {
            (Some(b'\r'), Some(b'\n')) => value_end + 2,
            (Some(b'\r'), None) => return Ok(Status::Incomplete(Needed::Unknown)),
            (Some(b'\n'), _) if limits.allow_bare_lf => value_end + 1,
            _ => return Err(Error::new(ErrorKind::BadLineEnding, value_end)),
        };
        // Or white space at either end of the value: two bytes read from `buf` (not a
        // sub-slice split into its first and last, which cost about 80 instructions more
        // per SIP-C parse: callgrind, seed 004's `M`).
        if value_end > value_start {
            let byte = |at: usize| buf.get(at).copied().unwrap_or_default();
            liberal |= is_wsp(byte(value_start)) | is_wsp(byte(value_end - 1));
        }
        spans.liberal |= liberal;
        spans.push([name_start, name_end, value_start, value_end]);
        count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: BlockLimits = BlockLimits {
        max_headers: 4,
        allow_bare_lf: false,
        allow_no_space: false,
    };

    fn complete<T>(r: crate::Result<T>) -> T {
        match r.unwrap() {
            Status::Complete(v) => v,
            Status::Incomplete(n) => panic!("incomplete: {n:?}"),
        }
    }

    #[test]
    fn block_keeps_order_repeats_and_raw_lines() {
        let buf = b"K: a\r\nF: 1\r\nK: nudge   \r\n\r\nbody";
        let (h, end) = complete(parse_block(buf, 0, &STRICT));
        assert_eq!(end, 27);
        assert_eq!(h.get_all("k").collect::<Vec<_>>(), ["a", "nudge"]);
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, &buf[..25]);
        assert_eq!(h.encoded_len(), 25);
    }

    #[test]
    fn white_space_around_the_colon_and_value_is_not_the_value() {
        // RFC 3261 §7.3.1: these are the same header; each is written back as it was read.
        let lenient = BlockLimits {
            allow_no_space: true,
            ..STRICT
        };
        let sip = Forms {
            allow_space_before_colon: true,
            ..Forms::NONE
        };
        for line in [
            &b"Call-ID: abc\r\n"[..],
            b"Call-ID:abc\r\n",
            b"Call-ID:   abc\r\n",
            b"Call-ID:\tabc\r\n",
            b"Call-ID :abc\r\n",
            b"Call-ID \t:  abc \t\r\n",
        ] {
            let buf = [line, b"\r\n"].concat();
            let (h, _) = complete(parse_block_with(&buf, 0, &lenient, &sip));
            assert_eq!(h.get("call-id"), Some("abc"), "{line:?}");
            let mut out = Vec::new();
            h.encode(&mut out);
            assert_eq!(out, line);
            assert_eq!(h.encoded_len(), line.len());
            assert_eq!(h.0[0].is_canonical(), line == b"Call-ID: abc\r\n");
        }
        let (h, _) = complete(parse_block(b"Subject:\r\n\r\n", 0, &STRICT));
        assert_eq!((h.get("subject"), h.encoded_len()), (Some(""), 10));
        // A made header keeps the white space it was given in its line, not in its value.
        let made = Header::new("K", " \tnudge  ");
        assert_eq!(made.value, "nudge");
        let mut out = Vec::new();
        made.encode(&mut out);
        assert_eq!(out, b"K:  \tnudge  \r\n");
        let block = [&out[..], b"\r\n"].concat();
        let (h, _) = complete(parse_block(&block, 0, &STRICT));
        assert_eq!(h.0, [made]);
    }

    #[test]
    fn block_errors_carry_offsets() {
        assert_eq!(
            parse_block(b"F: 1\r\nnocolon\r\n\r\n", 0, &STRICT).unwrap_err(),
            Error::new(ErrorKind::BadHeader, 13)
        );
        assert_eq!(
            parse_block(b"F:1\r\n\r\n", 0, &STRICT).unwrap_err(),
            Error::new(ErrorKind::BadHeader, 2)
        );
        assert_eq!(
            parse_block(b"F\x01: 1\r\n\r\n", 0, &STRICT).unwrap_err(),
            Error::new(ErrorKind::BadHeader, 1)
        );
        let many = b"A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n\r\n";
        assert_eq!(
            parse_block(many, 0, &STRICT).unwrap_err(),
            Error::new(ErrorKind::LimitExceeded, 24)
        );
        assert_eq!(
            parse_block(b"F: \xff\r\n\r\n", 0, &STRICT).unwrap_err(),
            Error::new(ErrorKind::Utf8, 3)
        );
    }

    #[test]
    fn block_incomplete_until_blank_line() {
        assert!(!parse_block(b"F: 1\r\n", 0, &STRICT).unwrap().is_complete());
        assert!(
            !parse_block(b"F: 1\r\n\r", 0, &STRICT)
                .unwrap()
                .is_complete()
        );
    }

    #[test]
    fn lenient_forms_are_opt_in() {
        let lenient = BlockLimits {
            allow_bare_lf: true,
            allow_no_space: true,
            ..STRICT
        };
        let (h, _) = complete(parse_block(b"F:1\nT: 2\n\n", 0, &lenient));
        assert_eq!(h.get("F"), Some("1"));
        assert_eq!(h.get("T"), Some("2"));
        // Canonical lines with either ending (cut off the block one after the other).
        let (h, _) = complete(parse_block(b"A: 1\nB: \r\nC: 3\n\r\n", 0, &lenient));
        let values: Vec<_> = h
            .iter()
            .map(|h| (h.name.as_ref(), h.value.as_ref()))
            .collect();
        assert_eq!(values, [("A", "1"), ("B", ""), ("C", "3")]);
        assert!(h.iter().all(Header::is_canonical));
    }

    #[test]
    fn sip_forms_are_opt_in() {
        const SIP: Forms = Forms {
            allow_space_before_colon: true,
            allow_folding: true,
            end_line: None,
        };
        let wire =
            b"Subject : I know\r\n  you're there\r\nTo:\r\n\t<sip:a@b>\r\nX: a \r\n \r\n\r\n";
        let (h, end) = complete(parse_block_with(wire, 0, &STRICT, &SIP));
        assert_eq!(end, wire.len());
        assert_eq!(h.get("subject"), Some("I know you're there"));
        assert_eq!(h.get("to"), Some("<sip:a@b>"));
        assert_eq!(h.get("x"), Some("a"));
        // Without the forms the same block is refused where each form starts.
        assert_eq!(
            parse_block(wire, 0, &STRICT).unwrap_err(),
            Error::new(ErrorKind::BadHeader, 7)
        );
        assert_eq!(
            parse_block(b"A: 1\r\n 2\r\n\r\n", 0, &STRICT).unwrap_err(),
            Error::new(ErrorKind::BadHeader, 6)
        );
        // A block cannot start with a continuation line.
        assert_eq!(
            parse_block_with(b" A: 1\r\n\r\n", 0, &STRICT, &SIP).unwrap_err(),
            Error::new(ErrorKind::BadHeader, 0)
        );
        // Until the next line's first byte arrives, a line may still be continued.
        assert!(
            !parse_block_with(b"A: 1\r\n", 0, &STRICT, &SIP)
                .unwrap()
                .is_complete()
        );
        assert!(
            !parse_block_with(b"A  ", 0, &STRICT, &SIP)
                .unwrap()
                .is_complete()
        );
    }

    #[test]
    fn end_line_ends_a_block_without_a_blank_line() {
        let msrp = Forms {
            end_line: Some(b'-'),
            ..Forms::NONE
        };
        let wire = b"To-Path: x\r\n-------abcd$\r\n";
        let (h, end) = complete(parse_block_with(wire, 0, &STRICT, &msrp));
        assert_eq!((h.len(), end), (1, 12));
        let (h, end) = complete(parse_block_with(b"\r\nrest", 0, &STRICT, &msrp));
        assert_eq!((h.len(), end), (0, 2));
        // Without the form, the end-line reads as a header name without a colon.
        assert_eq!(
            parse_block(wire, 0, &STRICT).unwrap_err(),
            Error::new(ErrorKind::BadHeader, 24)
        );
    }

    #[test]
    fn unfold_joins_lines_with_one_space() {
        assert_eq!(unfold("a"), "a");
        assert_eq!(unfold("a \t\r\n\t b"), "a b");
        assert_eq!(unfold("\r\n b\r\n c "), "b c ");
        assert_eq!(unfold(" a\n b"), " a b");
    }

    #[test]
    fn set_replaces_first_in_place() {
        let mut h = Headers::new();
        h.push("A", "1");
        h.push("L", "2");
        h.set("l", "3");
        h.set("Z", "4");
        assert_eq!(
            h.iter()
                .map(|h| (h.name.as_ref(), h.value.as_ref()))
                .collect::<Vec<_>>(),
            [("A", "1"), ("L", "3"), ("Z", "4")]
        );
        assert_eq!(h.remove("a"), 1);
    }
}
