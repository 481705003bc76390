//! quick-xml helpers shared by the XML body codecs (`msnp::msgr`, the SIP-C `<args>` and
//! `<events>` bodies): a pull reader that hands out elements and their text as slices of the
//! input, and the escaping used when writing documents back.
//!
//! Every error is an [`Error`] whose offset is relative to the text given to [`Reader::new`];
//! a frame decoder reports it against the whole frame with [`Error::shifted`]. Documents that
//! are not well-formed are [`ErrorKind::Xml`] at the byte quick-xml points at
//! (`Reader::error_position`: the `<` of the broken markup, the `&` of a broken reference);
//! input that ends inside an element is `Xml` at the end of the text, where the end tag was due.
//! Structural complaints of the typed decoders use the other kinds:
//!
//! * a child element where only text may appear, or text where only elements may appear:
//!   [`ErrorKind::Unexpected`] at that child or text;
//! * an element nested deeper than the reader's `max_depth`: [`ErrorKind::LimitExceeded`] at
//!   its `<`;
//! * anything but white space, comments and processing instructions after the root element:
//!   [`ErrorKind::TrailingData`] at its first byte;
//! * a document without a root element: [`ErrorKind::Missing`] at the end of the text.
//!
//! Text is unescaped (`&lt;`, `&gt;`, `&amp;`, `&apos;`, `&quot;`, `&#N;`, `&#xN;`) and its line
//! ends are normalised as XML 1.0 §2.11 says (`\r\n` and a lone `\r` become `\n`). The value
//! borrows the input (`Cow::Borrowed`) unless it had a reference, a CDATA section next to other
//! text, or a `\r`. Unknown entities (`&nbsp;`) are errors: these documents declare none.
//!
//! Writing: [`escape_text`] escapes `<`, `>`, `&` and `\r` (so the `\r` survives line-end
//! normalisation); [`escape_attribute`] also escapes both quotes, `\n` and `\t`.

use std::borrow::Cow;
use std::io::BufRead as _;

use quick_xml::events::Event;
use quick_xml::events::attributes::Attributes;

use crate::{Error, ErrorKind};

/// A pull reader over one XML document held in a `&str`.
///
/// Typical use by a typed decoder:
///
/// ```
/// use imspec_codec::xml::Reader;
///
/// let mut r = Reader::new("<a><n>7</n><x/><t>a&amp;b</t></a>", 16);
/// let root = r.root()?;
/// assert_eq!(root.name(), "a");
/// let (mut n, mut t) = (None, None);
/// while let Some(child) = r.next_child(&root)? {
///     match child.name() {
///         "n" => n = Some(r.text(&child)?),
///         "t" => t = Some(r.text(&child)?),
///         _ => r.skip(&child)?,
///     }
/// }
/// r.finish()?;
/// assert_eq!(n.as_deref(), Some("7"));
/// assert_eq!(t.as_deref(), Some("a&b"));
/// # Ok::<(), imspec_codec::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    /// The whole text, for slicing names and inner markup out of it.
    text: &'a str,
    /// Offset of `inner`'s first byte in `text` (3 when a UTF-8 BOM was skipped).
    base: usize,
    inner: quick_xml::Reader<&'a [u8]>,
    /// Elements currently open.
    depth: usize,
    max_depth: usize,
    /// Offset of the `<` of the last end tag read (or of the last empty element closed).
    closed_at: usize,
    /// Whether the root element has been closed.
    root_done: bool,
}

/// An element's start tag (`<name attr="v">` or `<name/>`) as read by a [`Reader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    name: &'a str,
    /// The tag's text between `<` and `>` (or `/>`): the name and the raw attributes.
    tag: &'a str,
    offset: usize,
    /// Offset just past the start tag's `>`.
    content_start: usize,
    empty: bool,
    /// Depth of the element itself (the root is 1).
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `text` that refuses elements nested more than `max_depth` deep
    /// (the root element is at depth 1).
    pub fn new(text: &'a str, max_depth: usize) -> Self {
        // quick-xml drops a leading BOM without counting it in its positions; skip it here so
        // that offsets stay relative to `text`.
        let (base, rest) = match text.strip_prefix('\u{feff}') {
            Some(rest) => ('\u{feff}'.len_utf8(), rest),
            None => (0, text),
        };
        let mut inner = quick_xml::Reader::from_str(rest);
        let config = inner.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text_start = false;
        config.trim_text_end = false;
        Self {
            text,
            base,
            inner,
            depth: 0,
            max_depth,
            closed_at: 0,
            root_done: false,
        }
    }

    /// The text this reader reads.
    pub fn source(&self) -> &'a str {
        self.text
    }

    /// The offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.base + to_usize(self.inner.buffer_position())
    }

    /// The offset of the `<` of the end tag that closed the element most recently finished by
    /// [`next_child`](Self::next_child), [`text`](Self::text), [`skip`](Self::skip) or
    /// [`inner_markup`](Self::inner_markup); for an empty element, its own `<`. Decoders report
    /// a missing required child here.
    pub fn closed_at(&self) -> usize {
        self.closed_at
    }

    /// Reads up to and including the root element's start tag, skipping an XML declaration,
    /// comments, processing instructions, a DOCTYPE and white space before it.
    pub fn root(&mut self) -> Result<Element<'a>, Error> {
        loop {
            let (event, at) = self.next_event()?;
            match event {
                Event::Start(_) | Event::Empty(_) => return self.element(&event, at),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                Event::Eof => return Err(Error::new(ErrorKind::Missing, self.position())),
                Event::End(_) | Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(Error::new(ErrorKind::Unexpected, at));
                }
            }
        }
    }

    /// The next child element of `parent`, or `None` once `parent`'s end tag has been read
    /// (its offset is then [`closed_at`](Self::closed_at)). White space, comments and
    /// processing instructions between children are skipped; other text is
    /// [`ErrorKind::Unexpected`]. Call this only while `parent` is the innermost open element.
    pub fn next_child(&mut self, parent: &Element<'a>) -> Result<Option<Element<'a>>, Error> {
        self.child(parent, false)
    }

    /// Like [`next_child`](Self::next_child), but text, CDATA and references among the
    /// children are passed over instead of being errors: for generic walkers over mixed
    /// content (the harness's `xml:` paths).
    pub fn next_element(&mut self, parent: &Element<'a>) -> Result<Option<Element<'a>>, Error> {
        self.child(parent, true)
    }

    /// Like [`next_child`](Self::next_child), but the child (or `None`) is written to `slot`.
    /// For decoders that keep one slot per loop: the element is built in place instead of
    /// being moved through each call's return value.
    pub fn next_child_into(
        &mut self,
        parent: &Element<'a>,
        slot: &mut Option<Element<'a>>,
    ) -> Result<(), Error> {
        self.child_into(parent, false, slot)
    }

    fn child(
        &mut self,
        parent: &Element<'a>,
        skip_text: bool,
    ) -> Result<Option<Element<'a>>, Error> {
        let mut slot = None;
        self.child_into(parent, skip_text, &mut slot)?;
        Ok(slot)
    }

    fn child_into(
        &mut self,
        parent: &Element<'a>,
        skip_text: bool,
        slot: &mut Option<Element<'a>>,
    ) -> Result<(), Error> {
        *slot = None;
        if parent.empty {
            self.closed_at = parent.offset;
            return Ok(());
        }
        loop {
            self.skip_blank();
            let (event, at) = self.next_event()?;
            match event {
                Event::Start(_) | Event::Empty(_) => return self.element_into(&event, at, slot),
                Event::End(_) => {
                    self.close(at);
                    return Ok(());
                }
                Event::PI(_) | Event::Comment(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                Event::Eof => return Err(self.unclosed()),
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if skip_text => {}
                Event::Text(_)
                | Event::CData(_)
                | Event::GeneralRef(_)
                | Event::Decl(_)
                | Event::DocType(_) => return Err(Error::new(ErrorKind::Unexpected, at)),
            }
        }
    }

    /// The unescaped text content of `el`, reading through its end tag. A child element is
    /// [`ErrorKind::Unexpected`] at its `<`. Comments and processing instructions are skipped.
    pub fn text(&mut self, el: &Element<'a>) -> Result<Cow<'a, str>, Error> {
        self.text_or_markup(el, false)
    }

    /// Like [`text`](Self::text), but if `el` has child elements and `allow_markup` is set,
    /// its whole content is returned verbatim (markup, references and all) as a slice of the
    /// input. This is the leniency for documents whose escaped text was rendered unescaped
    /// (`<content>hi <ss type="smile">:)</ss></content>`); the child markup must still be
    /// well-formed.
    pub fn text_or_markup(
        &mut self,
        el: &Element<'a>,
        allow_markup: bool,
    ) -> Result<Cow<'a, str>, Error> {
        if el.empty {
            self.closed_at = el.offset;
            return Ok(Cow::Borrowed(""));
        }
        // The common case, one run of text and the end tag, is handled here; anything else
        // continues out of line in `text_rest`, which keeps this path short.
        let mut acc = Text::default();
        self.text_run_into(&mut acc)?;
        let (event, at) = self.next_event()?;
        if let Event::End(_) = event {
            self.close(at);
            return Ok(acc.finish());
        }
        self.text_rest(el, allow_markup, acc, event, at)
    }

    /// Decodes the text from the reader's position up to the next `<` into `acc`, in one pass
    /// rather than as quick-xml's alternating Text and GeneralRef events (one event per
    /// `&lt;`), and moves the reader past it so that it resumes at the markup.
    fn text_run_into(&mut self, acc: &mut Text<'a>) -> Result<(), Error> {
        let run_start = self.position();
        let run = self.text_run(run_start);
        if !run.is_empty() {
            acc.push(decode_text(run, run_start)?);
            self.inner.stream().consume(run.len());
        }
        Ok(())
    }

    /// The rest of [`text_or_markup`](Self::text_or_markup) after its first run of text, from
    /// the event read after it (`event` at `at`) that is not the end tag.
    #[inline(never)]
    fn text_rest(
        &mut self,
        el: &Element<'a>,
        allow_markup: bool,
        mut acc: Text<'a>,
        mut event: Event<'a>,
        mut at: usize,
    ) -> Result<Cow<'a, str>, Error> {
        loop {
            match event {
                Event::Text(t) => acc.push(normalize_eols(t.into_inner())),
                Event::CData(t) => acc.push(t.into_inner()),
                Event::GeneralRef(r) => acc.push_char(resolve(&r, at)?),
                Event::End(_) => {
                    self.close(at);
                    return Ok(acc.finish());
                }
                Event::Start(_) | Event::Empty(_) if allow_markup => {
                    let child = self.element(&event, at)?;
                    self.skip(&child)?;
                    return self.inner_markup_rest(el);
                }
                Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => return Err(self.unclosed()),
                Event::Start(_) | Event::Empty(_) | Event::Decl(_) | Event::DocType(_) => {
                    return Err(Error::new(ErrorKind::Unexpected, at));
                }
            }
            self.text_run_into(&mut acc)?;
            (event, at) = self.next_event()?;
        }
    }

    /// The raw content of `el` between its start and end tags, verbatim, reading through its
    /// end tag. The content must be well-formed.
    pub fn inner_markup(&mut self, el: &Element<'a>) -> Result<&'a str, Error> {
        self.skip(el)?;
        Ok(self
            .text
            .get(el.content_start..self.closed_at)
            .unwrap_or_default())
    }

    /// Skips `el`'s content and end tag (an unknown element, kept for robustness to
    /// extensions). The skipped content must be well-formed and within the depth bound.
    pub fn skip(&mut self, el: &Element<'a>) -> Result<(), Error> {
        if el.empty {
            self.closed_at = el.offset;
            return Ok(());
        }
        loop {
            let (event, at) = self.next_event()?;
            match event {
                Event::Start(_) | Event::Empty(_) => {
                    self.element(&event, at)?;
                }
                Event::End(_) => {
                    self.close(at);
                    if self.depth < el.depth {
                        return Ok(());
                    }
                }
                Event::Eof => return Err(self.unclosed()),
                _ => {}
            }
        }
    }

    /// Checks that nothing but white space, comments and processing instructions follows the
    /// root element.
    pub fn finish(mut self) -> Result<(), Error> {
        loop {
            let (event, at) = self.next_event()?;
            match event {
                Event::Eof => return Ok(()),
                Event::PI(_) | Event::Comment(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                _ => return Err(Error::new(ErrorKind::TrailingData, at)),
            }
        }
    }

    /// Rest of [`text_or_markup`](Self::text_or_markup) once a child element was seen: read
    /// to `el`'s end tag and return its inner text verbatim.
    fn inner_markup_rest(&mut self, el: &Element<'a>) -> Result<Cow<'a, str>, Error> {
        loop {
            let (event, at) = self.next_event()?;
            match event {
                Event::Start(_) | Event::Empty(_) => {
                    let child = self.element(&event, at)?;
                    self.skip(&child)?;
                }
                Event::End(_) => {
                    self.close(at);
                    let inner = self.text.get(el.content_start..at).unwrap_or_default();
                    return Ok(Cow::Borrowed(inner));
                }
                Event::GeneralRef(r) => {
                    // Still reject references that could not be resolved.
                    resolve(&r, at)?;
                }
                Event::Eof => return Err(self.unclosed()),
                _ => {}
            }
        }
    }

    /// The text from `at` up to the next `<` (or the end of the input).
    fn text_run(&self, at: usize) -> &'a str {
        let rest = self.text.get(at..).unwrap_or_default();
        let len = memchr::memchr(b'<', rest.as_bytes()).unwrap_or(rest.len());
        // `<` is ASCII, so `len` is a character boundary.
        rest.get(..len).unwrap_or_default()
    }

    /// Moves the reader past white space that precedes markup, saving quick-xml a Text event
    /// per line break between elements. Other text is left for the caller to see.
    fn skip_blank(&mut self) {
        let at = self.position();
        let rest = self.text.get(at..).unwrap_or_default().as_bytes();
        let blank = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        if blank > 0 && rest.get(blank) == Some(&b'<') {
            self.inner.stream().consume(blank);
        }
    }

    /// Reads one event and the offset of its first byte. Errors become `Xml`; after the
    /// root element closed, only trailing items are read (see `finish`).
    fn next_event(&mut self) -> Result<(Event<'a>, usize), Error> {
        let at = self.position();
        match self.inner.read_event() {
            Ok(event) => Ok((event, at)),
            Err(_) => {
                let reported = self.base + to_usize(self.inner.error_position());
                // `error_position` is only meaningful if this event set it; otherwise the
                // error belongs to the event that started at `at`.
                Err(Error::new(ErrorKind::Xml, reported.max(at)))
            }
        }
    }

    /// Builds the [`Element`] for a `Start` or `Empty` event read at `at`, and counts it open.
    fn element(&mut self, event: &Event<'a>, at: usize) -> Result<Element<'a>, Error> {
        let mut slot = None;
        self.element_into(event, at, &mut slot)?;
        slot.ok_or(Error::new(ErrorKind::Unexpected, at))
    }

    /// [`element`](Self::element), writing the element to `slot` (always `Some` on success).
    fn element_into(
        &mut self,
        event: &Event<'a>,
        at: usize,
        slot: &mut Option<Element<'a>>,
    ) -> Result<(), Error> {
        let (start, empty) = match event {
            Event::Start(s) => (s, false),
            Event::Empty(s) => (s, true),
            _ => return Err(Error::new(ErrorKind::Unexpected, at)),
        };
        if self.root_done && self.depth == 0 {
            return Err(Error::new(ErrorKind::TrailingData, at));
        }
        let depth = self.depth + 1;
        if depth > self.max_depth {
            return Err(Error::new(ErrorKind::LimitExceeded, at));
        }
        let tag_len = start.len();
        let name_len = start.name().as_ref().len();
        // The event borrows `text`: its bytes start just after the `<` at `at`.
        let tag = self
            .text
            .get(at + 1..at + 1 + tag_len)
            .ok_or(Error::new(ErrorKind::Xml, at))?;
        let name = tag.get(..name_len).ok_or(Error::new(ErrorKind::Xml, at))?;
        if !empty {
            self.depth = depth;
        } else if depth == 1 {
            self.root_done = true;
        }
        *slot = Some(Element {
            name,
            tag,
            offset: at,
            content_start: self.position(),
            empty,
            depth,
        });
        Ok(())
    }

    fn close(&mut self, at: usize) {
        self.closed_at = at;
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.root_done = true;
        }
    }

    /// The error for input that ends while an element is open: quick-xml reports `Eof`
    /// without complaint, so this says `Xml` at the end of the input, where the end tag was due.
    fn unclosed(&self) -> Error {
        Error::new(ErrorKind::Xml, self.position())
    }
}

impl<'a> Element<'a> {
    /// The element's name as written (with any prefix).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The offset of the start tag's `<`.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The offset of the element's content: just past the start tag's `>` (for an empty
    /// element, past its `/>`). Decoders report a malformed text value here.
    pub fn content_offset(&self) -> usize {
        self.content_start
    }

    /// Whether this is an empty-element tag (`<name/>`).
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// The unescaped value of the attribute `key`, if present.
    pub fn attribute(&self, key: &str) -> Result<Option<Cow<'a, str>>, Error> {
        for attr in self.attributes() {
            let (k, v) = attr?;
            if k == key {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The attributes in document order, as `(name, unescaped value)`. A malformed attribute
    /// is [`ErrorKind::Xml`] at the byte quick-xml names; a duplicate name too.
    pub fn attributes(&self) -> impl Iterator<Item = Result<(&'a str, Cow<'a, str>), Error>> + 'a {
        let tag_start = self.offset + 1;
        let name_len = self.name.len();
        Attributes::new(self.tag, name_len).map(move |attr| {
            let attr =
                attr.map_err(|e| Error::new(ErrorKind::Xml, tag_start + attr_error_pos(&e)))?;
            let key = attr.key.0;
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|_| Error::new(ErrorKind::Xml, tag_start))?;
            Ok((key, value))
        })
    }
}

/// `bytes` as UTF-8 text for [`Reader::new`], or [`ErrorKind::Utf8`] at the first byte that is
/// not part of a valid sequence (a body decoder's first step when its frame holds bytes).
pub fn utf8(bytes: &[u8]) -> Result<&str, Error> {
    core::str::from_utf8(bytes).map_err(|e| Error::new(ErrorKind::Utf8, e.valid_up_to()))
}

/// Appends `s` escaped for XML text content: `<`, `>`, `&` and `\r` become references.
pub fn escape_text(out: &mut Vec<u8>, s: &str) {
    escape_into(out, s, is_text_special);
}

/// Appends `s` escaped for a double- or single-quoted attribute value: as [`escape_text`],
/// plus both quotes, `\n` and `\t` (which attribute-value normalisation would turn into spaces).
pub fn escape_attribute(out: &mut Vec<u8>, s: &str) {
    escape_into(out, s, |b| {
        matches!(b, b'<' | b'>' | b'&' | b'\r' | b'"' | b'\'' | b'\n' | b'\t')
    });
}

/// The length of `s` after [`escape_text`].
pub fn escaped_text_len(s: &str) -> usize {
    s.bytes()
        .map(|b| {
            if is_text_special(b) {
                reference(b).map_or(1, str::len)
            } else {
                1
            }
        })
        .sum()
}

/// Appends `<name>escaped text</name>`.
pub fn text_element(out: &mut Vec<u8>, name: &str, text: &str) {
    start_tag(out, name);
    escape_text(out, text);
    end_tag(out, name);
}

/// Appends `<name>`.
pub fn start_tag(out: &mut Vec<u8>, name: &str) {
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

/// Appends `</name>`.
pub fn end_tag(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

/// Appends `<name />` (the spacing the MSNP seeds use).
pub fn empty_element(out: &mut Vec<u8>, name: &str) {
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b" />");
}

/// Whether `s` is XML white space only (space, tab, CR, LF).
pub fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// `s` without leading and trailing XML white space.
pub fn trim(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Text content collected from `Text`, `CData` and reference events; borrows while there is
/// only one borrowed piece.
#[derive(Default)]
struct Text<'a> {
    value: Option<Cow<'a, str>>,
}

impl<'a> Text<'a> {
    fn push(&mut self, piece: Cow<'a, str>) {
        match &mut self.value {
            None => self.value = Some(piece),
            Some(v) => v.to_mut().push_str(&piece),
        }
    }

    fn push_char(&mut self, c: char) {
        match &mut self.value {
            None => self.value = Some(Cow::Owned(c.to_string())),
            Some(v) => v.to_mut().push(c),
        }
    }

    fn finish(self) -> Cow<'a, str> {
        self.value.unwrap_or(Cow::Borrowed(""))
    }
}

/// Decodes a run of text that holds no `<`, as it stands in the document at offset `at`:
/// references resolved, line ends normalised (before resolving, so `&#13;` stays a CR). An
/// unknown or unterminated reference is `Xml` at its `&`. Borrows `run` when there is nothing
/// to change.
fn decode_text(run: &str, at: usize) -> Result<Cow<'_, str>, Error> {
    if memchr::memchr2(b'&', b'\r', run.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(run));
    }
    decode_references(run, at).map(Cow::Owned)
}

/// [`decode_text`] of a run that has a reference or a `\r`, out of line.
#[inline(never)]
fn decode_references(run: &str, at: usize) -> Result<String, Error> {
    let bytes = run.as_bytes();
    let mut out = String::with_capacity(run.len());
    let mut from = 0;
    while let Some(rel) = memchr::memchr(b'&', bytes.get(from..).unwrap_or_default()) {
        let amp = from + rel;
        push_normalized(&mut out, run.get(from..amp).unwrap_or_default());
        let err = Error::new(ErrorKind::Xml, at + amp);
        let name_start = amp + 1;
        let rest = bytes.get(name_start..).unwrap_or_default();
        let len = memchr::memchr2(b';', b'&', rest).ok_or(err)?;
        if rest.get(len) != Some(&b';') {
            return Err(err);
        }
        let name = run.get(name_start..name_start + len).ok_or(err)?;
        out.push(resolve(&quick_xml::events::BytesRef::new(name), at + amp)?);
        from = name_start + len + 1;
    }
    push_normalized(&mut out, run.get(from..).unwrap_or_default());
    Ok(out)
}

/// Appends `s` with XML 1.0 end-of-line handling (`\r\n` and lone `\r` become `\n`).
fn push_normalized(out: &mut String, s: &str) {
    let mut parts = s.split('\r');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for part in parts {
        out.push('\n');
        out.push_str(part.strip_prefix('\n').unwrap_or(part));
    }
}

/// Resolves a general reference (`lt`, `#60`, `#x3C`) to its character, or `Xml` at its `&`.
fn resolve(r: &quick_xml::events::BytesRef<'_>, at: usize) -> Result<char, Error> {
    let err = Error::new(ErrorKind::Xml, at);
    if let Some(c) = r.resolve_char_ref().map_err(|_| err)? {
        return Ok(c);
    }
    quick_xml::escape::resolve_predefined_entity(r)
        .and_then(|s| s.chars().next())
        .ok_or(err)
}

/// XML 1.0 end-of-line handling: `\r\n` and lone `\r` become `\n`. Borrows without a `\r`.
fn normalize_eols(s: Cow<'_, str>) -> Cow<'_, str> {
    if memchr::memchr(b'\r', s.as_bytes()).is_none() {
        return s;
    }
    let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
    Cow::Owned(normalized)
}

fn escape_into(out: &mut Vec<u8>, s: &str, needs: impl Fn(u8) -> bool) {
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if needs(b) {
            out.extend_from_slice(bytes.get(from..i).unwrap_or_default());
            out.extend_from_slice(reference(b).unwrap_or_default().as_bytes());
            from = i + 1;
        }
    }
    out.extend_from_slice(bytes.get(from..).unwrap_or_default());
}

const fn is_text_special(b: u8) -> bool {
    matches!(b, b'<' | b'>' | b'&' | b'\r')
}

/// The reference written for a byte that needs escaping.
const fn reference(b: u8) -> Option<&'static str> {
    match b {
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'&' => Some("&amp;"),
        b'"' => Some("&quot;"),
        b'\'' => Some("&apos;"),
        b'\r' => Some("&#13;"),
        b'\n' => Some("&#10;"),
        b'\t' => Some("&#9;"),
        _ => None,
    }
}

fn attr_error_pos(e: &quick_xml::events::attributes::AttrError) -> usize {
    use quick_xml::events::attributes::AttrError;
    match *e {
        AttrError::ExpectedEq(p)
        | AttrError::ExpectedValue(p)
        | AttrError::UnquotedValue(p)
        | AttrError::ExpectedQuote(p, _)
        | AttrError::Duplicated(p, _) => p,
    }
}

fn to_usize(p: u64) -> usize {
    usize::try_from(p).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(doc: &str) -> Result<Vec<(String, String)>, Error> {
        let mut r = Reader::new(doc, 8);
        let root = r.root()?;
        let mut out = Vec::new();
        while let Some(child) = r.next_child(&root)? {
            out.push((child.name().to_owned(), r.text(&child)?.into_owned()));
        }
        r.finish()?;
        Ok(out)
    }

    fn err(doc: &str) -> (ErrorKind, usize) {
        match texts(doc) {
            Ok(v) => panic!("accepted {doc:?}: {v:?}"),
            Err(e) => (e.kind(), e.offset()),
        }
    }

    macro_rules! reject {
        ($name:ident, $doc:expr, $kind:ident, $offset:expr) => {
            #[test]
            fn $name() {
                assert_eq!(err($doc), (ErrorKind::$kind, $offset));
            }
        };
    }

    #[test]
    fn xml_text_borrows_without_escapes() {
        let doc = "<r><a>plain</a></r>";
        let mut r = Reader::new(doc, 4);
        let root = r.root().unwrap();
        let a = r.next_child(&root).unwrap().unwrap();
        assert!(matches!(r.text(&a).unwrap(), Cow::Borrowed("plain")));
    }

    #[test]
    fn xml_text_unescapes_and_normalizes() {
        let got = texts("<?xml version=\"1.0\"?>\n<r>\n <a>x&lt;y&amp;&#x263A;&#65;</a>\r\n<b/><c>1\r\n2\r3</c><d><![CDATA[<z>]]>!</d>\n</r>\n<!-- end -->")
            .unwrap();
        let want = [
            ("a", "x<y&\u{263a}A"),
            ("b", ""),
            ("c", "1\n2\n3"),
            ("d", "<z>!"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn xml_bom_keeps_offsets() {
        let doc = "\u{feff}<r><a>1</a><a><b/></a></r>";
        assert_eq!(err(doc), (ErrorKind::Unexpected, 17));
    }

    #[test]
    fn xml_markup_leniency_is_verbatim() {
        let doc = "<r><c>hi &amp; <ss type=\"smile\">:)</ss> bye</c><d>x</d></r>";
        let mut r = Reader::new(doc, 4);
        let root = r.root().unwrap();
        let c = r.next_child(&root).unwrap().unwrap();
        assert_eq!(
            r.text_or_markup(&c, true).unwrap(),
            "hi &amp; <ss type=\"smile\">:)</ss> bye"
        );
        let d = r.next_child(&root).unwrap().unwrap();
        assert_eq!(r.text_or_markup(&d, true).unwrap(), "x");
        assert!(r.next_child(&root).unwrap().is_none());
        assert_eq!(r.closed_at(), doc.len() - 4);
        r.finish().unwrap();
    }

    #[test]
    fn xml_attributes() {
        let doc = "<r a='1' b=\"x&quot;y\"/>";
        let mut r = Reader::new(doc, 4);
        let root = r.root().unwrap();
        assert_eq!(root.attribute("b").unwrap().as_deref(), Some("x\"y"));
        assert_eq!(root.attribute("c").unwrap(), None);
        let bad = Reader::new("<r a='1' a='2'/>", 4).root().unwrap();
        assert_eq!(bad.attribute("z").unwrap_err().kind(), ErrorKind::Xml);
    }

    #[test]
    fn xml_skip_and_inner_markup() {
        let doc = "<r><u><v><w/></v>t</u><m><k>1</k></m></r>";
        let mut r = Reader::new(doc, 4);
        let root = r.root().unwrap();
        let u = r.next_child(&root).unwrap().unwrap();
        r.skip(&u).unwrap();
        let m = r.next_child(&root).unwrap().unwrap();
        assert_eq!(r.inner_markup(&m).unwrap(), "<k>1</k>");
        assert!(r.next_child(&root).unwrap().is_none());
        r.finish().unwrap();
    }

    #[test]
    fn xml_escape_round_trip() {
        let s = "a<b>&\"c'\r\n\td";
        let mut out = Vec::new();
        text_element(&mut out, "t", s);
        assert_eq!(escaped_text_len(s) + 7, out.len());
        let doc = String::from_utf8(out).unwrap();
        let mut r = Reader::new(&doc, 2);
        let t = r.root().unwrap();
        assert_eq!(r.text(&t).unwrap(), s);
        let mut attr = Vec::new();
        escape_attribute(&mut attr, s);
        let doc = format!("<t v=\"{}\"/>", String::from_utf8(attr).unwrap());
        assert_eq!(
            Reader::new(&doc, 2)
                .root()
                .unwrap()
                .attribute("v")
                .unwrap()
                .as_deref(),
            Some(s)
        );
    }

    reject!(xml_unknown_entity, "<r><a>x&nbsp;</a></r>", Xml, 7);
    reject!(xml_bare_ampersand, "<r><a>x & y</a></r>", Xml, 8);
    reject!(xml_mismatched_end, "<r><a>x</b></r>", Xml, 7);
    reject!(xml_unclosed_tag, "<r><a x='1></r>", Xml, 3);
    reject!(xml_unclosed_root, "<r><a>x</a>", Xml, 11);
    reject!(xml_child_in_text, "<r><a>x<b/></a></r>", Unexpected, 7);
    reject!(xml_text_in_elements, "<r> x <a/></r>", Unexpected, 3);
    reject!(xml_text_after_blank_line, "<r>\n<a/>\nx</r>", Unexpected, 8);
    reject!(xml_unterminated_reference, "<r><a>x &amp y</a></r>", Xml, 8);
    reject!(xml_reference_without_name, "<r><a>&;</a></r>", Xml, 6);
    reject!(xml_bad_char_reference, "<r><a>&#xD800;</a></r>", Xml, 6);
    reject!(xml_trailing_element, "<r/> <s/>", TrailingData, 5);
    reject!(xml_trailing_text, "<r></r>x", TrailingData, 7);
    reject!(xml_no_root, " <!-- c --> ", Missing, 12);
    #[test]
    fn xml_too_deep() {
        let doc = "<r><a><b><c><d><e><f><g><h/></g></f></e></d></c></b></a></r>";
        let mut r = Reader::new(doc, 8);
        let root = r.root().unwrap();
        let a = r.next_child(&root).unwrap().unwrap();
        let e = r.skip(&a).unwrap_err();
        assert_eq!((e.kind(), e.offset()), (ErrorKind::LimitExceeded, 24));
        let mut r = Reader::new(doc, 9);
        let root = r.root().unwrap();
        let a = r.next_child(&root).unwrap().unwrap();
        r.skip(&a).unwrap();
        assert!(r.next_child(&root).unwrap().is_none());
        r.finish().unwrap();
    }
}
