//! The lists an endpoint puts after binding: its contact list (`<ml>`, `PUT … MSGR\CONTACTS`)
//! and a group thread with its members (`<thread>`, `PUT`/`DEL … MSGR\THREAD`).
//! `docs/protocols/msnp.md` §3.4.

use std::borrow::Cow;

use super::{Decoder, need, own, put};
use crate::Error;
use crate::xml::{self, Element};

/// The `PUT … MSGR\CONTACTS` body: the contacts whose presence the endpoint follows.
///
/// ```text
/// ml      = "<ml" [ ' l="' N '"' ] ">" *( "<skp>" *contact "</skp>" ) "</ml>"
/// contact = '<c n="' name '"' [ ' t="' netid '"' ] ">" *service "</c>"
///         / '<c n="' name '"' [ ' t="' netid '"' ] "/>"
/// service = '<s' [ ' l="' N '"' ] ' n="' service-name '"/>'
/// ```
///
/// As MIR sends it: `<ml l="1"><skp><c n="name" t="8"><s l="3" n="IM"/></c></skp></ml>`. The
/// contacts of every `<skp>` group are read in order into one list (and written back in one
/// group); other children of `<ml>`, `<skp>` and `<c>` are skipped. Attribute values are kept
/// as text: `l` is a list bitmask and `t` a network id whose full ranges no source gives.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ContactList<'a> {
    /// `l` of `<ml>` (`1`).
    pub list: Option<Cow<'a, str>>,
    /// The `<c>` elements.
    pub contacts: Vec<Contact<'a>>,
}

/// One `<c>` of a [`ContactList`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Contact<'a> {
    /// `n`: the contact's name, or a whole mri (`8:name`) as some clients write it.
    pub name: Cow<'a, str>,
    /// `t`: the network id (`8`, Skype).
    pub network: Option<Cow<'a, str>>,
    /// The `<s>` children: the services followed.
    pub services: Vec<ContactService<'a>>,
}

/// One `<s l="3" n="IM"/>` of a [`Contact`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ContactService<'a> {
    /// `n`: the service (`IM`).
    pub name: Cow<'a, str>,
    /// `l`: its list bitmask (`3`).
    pub list: Option<Cow<'a, str>>,
}

impl<'a> ContactList<'a> {
    /// Decodes an `<ml>` document with the default [`Limits`](super::Limits).
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &super::Limits::default())
    }

    /// Decodes an `<ml>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &super::Limits) -> Result<Self, Error> {
        super::parse_root(text, limits, "ml", Self::read)
    }

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let list = el.attribute("l")?;
        let mut contacts = Vec::new();
        while let Some(group) = d.r.next_child(el)? {
            if group.name() != "skp" {
                d.r.skip(&group)?;
                continue;
            }
            while let Some(c) = d.r.next_child(&group)? {
                if c.name() != "c" {
                    d.r.skip(&c)?;
                    continue;
                }
                d.count_entry(&c)?;
                contacts.push(Contact::read(d, &c)?);
            }
        }
        Ok(Self { list, contacts })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<ml");
        attribute(out, "l", self.list.as_deref());
        if self.contacts.is_empty() {
            out.extend_from_slice(b" />");
            return;
        }
        out.push(b'>');
        xml::start_tag(out, "skp");
        for c in &self.contacts {
            c.encode(out);
        }
        xml::end_tag(out, "skp");
        xml::end_tag(out, "ml");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> ContactList<'static> {
        ContactList {
            list: self.list.map(own),
            contacts: self.contacts.into_iter().map(Contact::into_owned).collect(),
        }
    }
}

impl<'a> Contact<'a> {
    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let name = need(el.attribute("n")?, el.offset())?;
        let network = el.attribute("t")?;
        let mut services = Vec::new();
        while let Some(s) = d.r.next_child(el)? {
            if s.name() == "s" {
                let name = need(s.attribute("n")?, s.offset())?;
                services.push(ContactService {
                    name,
                    list: s.attribute("l")?,
                });
            }
            d.r.skip(&s)?;
        }
        Ok(Self {
            name,
            network,
            services,
        })
    }

    /// The contact's mri: `n` when it already is one (`8:name`), else `t:n` with network 8
    /// (Skype) when `t` is absent.
    pub fn mri(&self) -> String {
        if self.name.contains(':') {
            self.name.clone().into_owned()
        } else {
            format!("{}:{}", self.network.as_deref().unwrap_or("8"), self.name)
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<c");
        attribute(out, "n", Some(&self.name));
        attribute(out, "t", self.network.as_deref());
        if self.services.is_empty() {
            out.extend_from_slice(b" />");
            return;
        }
        out.push(b'>');
        for s in &self.services {
            out.extend_from_slice(b"<s");
            attribute(out, "l", s.list.as_deref());
            attribute(out, "n", Some(&s.name));
            out.extend_from_slice(b" />");
        }
        xml::end_tag(out, "c");
    }

    fn into_owned(self) -> Contact<'static> {
        Contact {
            name: own(self.name),
            network: self.network.map(own),
            services: self
                .services
                .into_iter()
                .map(|s| ContactService {
                    name: own(s.name),
                    list: s.list.map(own),
                })
                .collect(),
        }
    }
}

/// The `PUT … MSGR\THREAD` (and `DEL … MSGR\THREAD`) body: a group thread and its members.
///
/// ```text
/// thread  = "<thread>" "<id>" thread-id "</id>"
///           [ "<members>" *member "</members>" ] "</thread>"
/// member  = "<member>" "<mri>" mri "</mri>" [ "<role>" role "</role>" ] "</member>"
/// ```
///
/// `thread-id` is `19:…@thread.skype`; `role` is `Admin` or `User` in the scenarios (the
/// value is kept as text). Whether a thread id has that shape is the server's policy, not the
/// codec's. (The `<thread>` inside a recent conversation is another element: [`super::Thread`].)
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GroupThread<'a> {
    /// `<id>`.
    pub id: Cow<'a, str>,
    /// The `<member>` elements of `<members>`.
    pub members: Vec<GroupMember<'a>>,
}

/// One `<member>` of a [`GroupThread`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GroupMember<'a> {
    /// `<mri>` (`8:name`).
    pub mri: Cow<'a, str>,
    /// `<role>`.
    pub role: Option<Cow<'a, str>>,
}

impl<'a> GroupThread<'a> {
    /// Decodes a `<thread>` document with the default [`Limits`](super::Limits).
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &super::Limits::default())
    }

    /// Decodes a `<thread>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &super::Limits) -> Result<Self, Error> {
        super::parse_root(text, limits, "thread", Self::read)
    }

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut members) = (None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "id" => put(&mut id, d.r.text(&c)?, &c)?,
                "members" => {
                    let mut list = Vec::new();
                    while let Some(m) = d.r.next_child(&c)? {
                        if m.name() != "member" {
                            d.r.skip(&m)?;
                            continue;
                        }
                        d.count_entry(&m)?;
                        list.push(GroupMember::read(d, &m)?);
                    }
                    put(&mut members, list, &c)?;
                }
                _ => d.r.skip(&c)?,
            }
        }
        Ok(Self {
            id: need(id, d.r.closed_at())?,
            members: members.unwrap_or_default(),
        })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "thread");
        xml::text_element(out, "id", &self.id);
        if !self.members.is_empty() {
            xml::start_tag(out, "members");
            for m in &self.members {
                xml::start_tag(out, "member");
                xml::text_element(out, "mri", &m.mri);
                if let Some(role) = &m.role {
                    xml::text_element(out, "role", role);
                }
                xml::end_tag(out, "member");
            }
            xml::end_tag(out, "members");
        }
        xml::end_tag(out, "thread");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> GroupThread<'static> {
        GroupThread {
            id: own(self.id),
            members: self
                .members
                .into_iter()
                .map(|m| GroupMember {
                    mri: own(m.mri),
                    role: m.role.map(own),
                })
                .collect(),
        }
    }
}

impl<'a> GroupMember<'a> {
    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut mri, mut role) = (None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "mri" => put(&mut mri, d.r.text(&c)?, &c)?,
                "role" => put(&mut role, d.r.text(&c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        Ok(Self {
            mri: need(mri, d.r.closed_at())?,
            role,
        })
    }
}

/// Appends ` name="escaped value"` when there is a value.
fn attribute(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.push(b' ');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        xml::escape_attribute(out, v);
        out.push(b'"');
    }
}
