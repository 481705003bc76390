//! Typed SIP-C bodies (docs/protocols/fetion.md §6): the `<args>` of S and R requests, the `<events>`
//! of BN notifications, the session lines of an INVITE and the `<is-composing>` of IN.
//!
//! Each decoder takes the body bytes a [`Message`](super::Message) carries, borrows from
//! them, and reports errors with offsets relative to the body (shift them by the body's start
//! with [`Error::shifted`] to point into the frame). Framing never depends on these: a message
//! whose body does not decode is still a message.
//!
//! # XML bodies
//!
//! Decoded with [`crate::xml::Reader`]: not well-formed is [`ErrorKind::Xml`], a wrong root or a
//! wrong child where only one kind may appear is [`ErrorKind::Unexpected`] at its `<`, a
//! required attribute or child that is absent is [`ErrorKind::Missing`] (at the element's `<`
//! for an attribute, at the parent's end tag for a child), nesting beyond 16 levels is
//! [`ErrorKind::LimitExceeded`]. Attributes on the containers (`args`, `contacts`, `presence`,
//! `events`, `is-composing`) are refused as [`ErrorKind::Unexpected`]: no source shows any.
//!
//! Unknown children are kept, not skipped: an element this module does not model (the login
//! body's `<device>`, `<caps>`, a SyncUserInfo event's `<user-info>`) becomes a [`Raw`] that
//! holds its markup verbatim and is written back verbatim, in its place among its siblings.
//! Modelled elements keep their other attributes, in order, after the one they are known by.
//!
//! Equality is semantic (white space between elements, attribute quoting and escapes are not
//! part of the value), so the round trip is `parse(encode(v)) == v`. The encoders still write
//! exactly the forms the sources show, so that those bodies come back byte for byte:
//!
//! * an element without content is an empty-element tag, spelled as each body's source
//!   spells it: `" />"` in `<args>` (PyFetion's login body; seed 004's InviteBuddy, whose
//!   `L: 85` counts that space) and `"/>"` in `<events>` (seed 004's BN, `L: 100`);
//! * attribute values are double-quoted and escaped with [`crate::xml::escape_attribute`];
//! * no white space between elements, no XML declaration.
//!
//! # Session lines
//!
//! [`Session`] is line-based and its round trip is byte-exact for CRLF input.
//!
//! # Files
//!
//! One file per body: `args.rs`, `events.rs`, `session.rs`, `is_composing.rs`; this file
//! holds what the XML bodies share ([`Raw`], [`Attribute`], the reading helpers and the
//! writer) and the `arbitrary` generators.

use core::fmt;
use std::borrow::Cow;

use crate::xml::{self, Reader};
use crate::{Error, ErrorKind};

mod args;
mod events;
mod is_composing;
mod session;

pub use args::{Arg, Args, Basic, Contact, Presence};
pub use events::{Event, EventChild, EventType, Events, Member};
pub use is_composing::IsComposing;
pub use session::{Session, SessionLine, SessionOptions};

/// An element kept verbatim: its name and its markup from `<` to the end of its end tag.
///
/// Built by the decoders or by [`Raw::parse`], so the markup is always one well-formed
/// element.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Raw<'a> {
    name: Cow<'a, str>,
    markup: Cow<'a, str>,
}

/// An attribute: name and unescaped value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Attribute<'a> {
    /// The name as written.
    pub name: Cow<'a, str>,
    /// The value, unescaped.
    pub value: Cow<'a, str>,
}

impl<'a> Raw<'a> {
    /// Checks that `markup` is exactly one well-formed element (no declaration, nothing
    /// around it) and keeps it.
    pub fn parse(markup: &'a str) -> Result<Self, Error> {
        let mut r = Reader::new(markup, MAX_DEPTH);
        let el = r.root()?;
        if el.offset() != 0 {
            return Err(Error::new(ErrorKind::Unexpected, 0));
        }
        let raw = Self::read(&mut r, &el)?;
        if raw.markup.len() != markup.len() {
            return Err(Error::new(ErrorKind::TrailingData, raw.markup.len()));
        }
        Ok(raw)
    }

    /// The element's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The markup, verbatim.
    pub fn markup(&self) -> &str {
        &self.markup
    }

    /// The unescaped value of the root element's attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<Cow<'_, str>> {
        let root = Reader::new(&self.markup, MAX_DEPTH).root().ok()?;
        root.attribute(key).ok().flatten()
    }

    /// The same element owning its text.
    pub fn into_owned(self) -> Raw<'static> {
        Raw {
            name: own(self.name),
            markup: own(self.markup),
        }
    }

    /// Reads `el` (just returned by `r`) through its end tag and keeps its markup.
    fn read(r: &mut Reader<'a>, el: &xml::Element<'a>) -> Result<Self, Error> {
        // Checks the attributes too, so that a kept element is well-formed throughout.
        for attr in el.attributes() {
            attr?;
        }
        r.skip(el)?;
        let markup = r
            .source()
            .get(el.offset()..r.position())
            .unwrap_or_default();
        Ok(Self {
            name: Cow::Borrowed(el.name()),
            markup: Cow::Borrowed(markup),
        })
    }
}

impl<'a> Attribute<'a> {
    /// An attribute from a name and a value.
    pub fn new(name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Reads the root element and checks its name and that it has no attributes.
fn container<'a>(r: &mut Reader<'a>, name: &str) -> Result<xml::Element<'a>, Error> {
    let root = r.root()?;
    if root.name() != name {
        return Err(unexpected(&root));
    }
    no_attributes(&root)?;
    Ok(root)
}

/// An element without children whose attribute `key` is required: its value and the other
/// attributes.
fn keyed_leaf<'a>(
    r: &mut Reader<'a>,
    el: &xml::Element<'a>,
    key: &str,
) -> Result<(Cow<'a, str>, Vec<Attribute<'a>>), Error> {
    let keyed = keyed_attributes(el, key)?;
    if let Some(child) = r.next_child(el)? {
        return Err(unexpected(&child));
    }
    Ok(keyed)
}

/// The value of the required attribute `key` and the other attributes in order.
fn keyed_attributes<'a>(
    el: &xml::Element<'a>,
    key: &str,
) -> Result<(Cow<'a, str>, Vec<Attribute<'a>>), Error> {
    let mut value = None;
    let mut others = Vec::new();
    for attr in el.attributes() {
        let (name, v) = attr?;
        if name == key {
            value = Some(v);
        } else {
            others.push(Attribute {
                name: Cow::Borrowed(name),
                value: v,
            });
        }
    }
    let value = value.ok_or(Error::new(ErrorKind::Missing, el.offset()))?;
    Ok((value, others))
}

fn no_attributes(el: &xml::Element<'_>) -> Result<(), Error> {
    match el.attributes().next() {
        None => Ok(()),
        Some(Err(e)) => Err(e),
        Some(Ok(_)) => Err(unexpected(el)),
    }
}

fn unexpected(el: &xml::Element<'_>) -> Error {
    Error::new(ErrorKind::Unexpected, el.offset())
}

fn utf8(body: &[u8]) -> Result<&str, Error> {
    core::str::from_utf8(body).map_err(|e| Error::new(ErrorKind::Utf8, e.valid_up_to()))
}

fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

fn owned_attributes(attrs: Vec<Attribute<'_>>) -> Vec<Attribute<'static>> {
    attrs
        .into_iter()
        .map(|a| Attribute {
            name: own(a.name),
            value: own(a.value),
        })
        .collect()
}

/// Where encoders write: a vector, or a byte counter for `encoded_len`.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    /// An attribute value, escaped as [`xml::escape_attribute`] does.
    fn put_attribute_value(&mut self, value: &str);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn put_attribute_value(&mut self, value: &str) {
        xml::escape_attribute(self, value);
    }
}

/// Counts bytes instead of writing them.
struct Count(usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }

    fn put_attribute_value(&mut self, value: &str) {
        self.0 += escaped_attribute_len(value);
    }
}

/// Writes elements in one body's style: `empty_close` ends an element without content.
struct Writer<'s, S> {
    sink: &'s mut S,
    empty_close: &'static str,
}

impl<S: Sink> Writer<'_, S> {
    /// `<name key="value" attributes…>content</name>`, or with `empty`,
    /// `<name key="value" attributes…` + `empty_close`. No first attribute if `key` is empty.
    fn element(
        &mut self,
        name: &str,
        key: &str,
        value: &str,
        attributes: &[Attribute<'_>],
        empty: bool,
        content: impl FnOnce(&mut Self),
    ) {
        self.sink.put(b"<");
        self.sink.put(name.as_bytes());
        if !key.is_empty() {
            self.attribute(key, value);
        }
        for a in attributes {
            self.attribute(&a.name, &a.value);
        }
        if empty {
            self.sink.put(self.empty_close.as_bytes());
            return;
        }
        self.sink.put(b">");
        content(self);
        self.sink.put(b"</");
        self.sink.put(name.as_bytes());
        self.sink.put(b">");
    }

    fn attribute(&mut self, name: &str, value: &str) {
        self.sink.put(b" ");
        self.sink.put(name.as_bytes());
        self.sink.put(b"=\"");
        self.sink.put_attribute_value(value);
        self.sink.put(b"\"");
    }
}

/// The length of `value` after [`xml::escape_attribute`].
fn escaped_attribute_len(value: &str) -> usize {
    value
        .bytes()
        .map(|b| match b {
            b'<' | b'>' | b'\t' => 4,
            b'&' | b'\r' | b'\n' => 5,
            b'"' | b'\'' => 6,
            _ => 1,
        })
        .sum()
}

/// Deepest nesting accepted inside a body (root = 1); kept elements are checked against it too.
const MAX_DEPTH: usize = 16;

/// Structure-aware fuzzing inputs: every generated body encodes to bytes that decode to it.
#[cfg(feature = "arbitrary")]
mod arbitrary_impls {
    use std::borrow::Cow;

    use arbitrary::{Arbitrary, Result, Unstructured};

    use super::*;

    impl<'u> Arbitrary<'u> for Args<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let mut children = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                children.push(match u.int_in_range(0..=2)? {
                    0 => {
                        let mut contacts = Vec::new();
                        for _ in 0..u.int_in_range(0..=3)? {
                            contacts.push(Contact {
                                uri: text(u)?,
                                attributes: attributes(u, "uri")?,
                            });
                        }
                        Arg::Contacts(contacts)
                    }
                    1 => {
                        let basic = if u.arbitrary()? {
                            Some(Basic {
                                value: u.arbitrary()?,
                                attributes: attributes(u, "value")?,
                            })
                        } else {
                            None
                        };
                        let mut rest = Vec::new();
                        for _ in 0..u.int_in_range(0..=2)? {
                            rest.push(raw(u, &["basic"])?);
                        }
                        Arg::Presence(Presence { basic, rest })
                    }
                    _ => Arg::Other(raw(u, &["contacts", "presence"])?),
                });
            }
            Ok(Self { children })
        }
    }

    impl<'u> Arbitrary<'u> for Events<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let mut events = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                let mut children = Vec::new();
                for _ in 0..u.int_in_range(0..=3)? {
                    children.push(if u.arbitrary()? {
                        EventChild::Member(Member {
                            uri: text(u)?,
                            attributes: attributes(u, "uri")?,
                        })
                    } else {
                        EventChild::Other(raw(u, &["member"])?)
                    });
                }
                let kind = EventType::from(text(u)?);
                events.push(Event {
                    kind,
                    attributes: attributes(u, "type")?,
                    children,
                });
            }
            Ok(Self { events })
        }
    }

    impl<'u> Arbitrary<'u> for Session<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            let mut lines = Vec::new();
            for _ in 0..u.int_in_range(0..=6)? {
                let value: String = String::arbitrary(u)?
                    .chars()
                    .filter(|c| !matches!(c, '\r' | '\n'))
                    .collect();
                let value = Cow::Owned(value);
                let key = char::from(*u.choose(b"samvtx")?);
                lines.push(match key {
                    's' => SessionLine::Name(value),
                    'm' => SessionLine::Media(value),
                    'a' if u.arbitrary()? => SessionLine::User(value),
                    // An `a=` line that is not `a=user:`.
                    'a' => SessionLine::Other {
                        key,
                        value: Cow::Owned(format!("x{value}")),
                    },
                    _ => SessionLine::Other { key, value },
                });
            }
            Ok(Self { lines })
        }
    }

    impl<'u> Arbitrary<'u> for IsComposing<'static> {
        fn arbitrary(u: &mut Unstructured<'u>) -> Result<Self> {
            Ok(Self { state: text(u)? })
        }
    }

    /// An XML name: `[a-z][a-z0-9.-]{0,7}`.
    fn name(u: &mut Unstructured<'_>) -> Result<String> {
        const FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
        const REST: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789.-";
        let mut s = String::from(char::from(*u.choose(FIRST)?));
        for _ in 0..u.int_in_range(0..=7)? {
            s.push(char::from(*u.choose(REST)?));
        }
        Ok(s)
    }

    /// Text XML can carry: no control characters but TAB, LF and CR.
    fn text(u: &mut Unstructured<'_>) -> Result<Cow<'static, str>> {
        let s: String = u.arbitrary()?;
        Ok(Cow::Owned(
            s.chars()
                .filter(|&c| matches!(c, '\t' | '\n' | '\r') || !c.is_control())
                .collect(),
        ))
    }

    /// Attributes with distinct names, none of them `key`.
    fn attributes(u: &mut Unstructured<'_>, key: &str) -> Result<Vec<Attribute<'static>>> {
        let mut attrs: Vec<Attribute<'static>> = Vec::new();
        for _ in 0..u.int_in_range(0..=2)? {
            let n = name(u)?;
            if n != key && attrs.iter().all(|a| a.name != n) {
                attrs.push(Attribute {
                    name: Cow::Owned(n),
                    value: text(u)?,
                });
            }
        }
        Ok(attrs)
    }

    /// A kept element not named like a modelled sibling: empty, or with escaped text.
    fn raw(u: &mut Unstructured<'_>, reserved: &[&str]) -> Result<Raw<'static>> {
        let mut n = name(u)?;
        if reserved.contains(&n.as_str()) {
            n.push('x');
        }
        let mut out = format!("<{n}").into_bytes();
        for a in attributes(u, "")? {
            out.extend_from_slice(format!(" {}=\"", a.name).as_bytes());
            xml::escape_attribute(&mut out, &a.value);
            out.push(b'"');
        }
        if u.arbitrary()? {
            out.extend_from_slice(b" />");
        } else {
            out.push(b'>');
            xml::escape_text(&mut out, &text(u)?);
            out.extend_from_slice(format!("</{n}>").as_bytes());
        }
        let markup = String::from_utf8(out).map_err(|_| arbitrary::Error::IncorrectFormat)?;
        Raw::parse(&markup)
            .map(Raw::into_owned)
            .map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}

#[cfg(test)]
mod tests;
