//! The ThreadActivity documents inside group-chat messages (`<addmember>`, `<deletemember>`,
//! `<topicupdate>`, `<roleupdate>`).

use std::borrow::Cow;

use super::{Decoder, Limits, need, number_element, own, put};
use crate::xml::{self, Element};
use crate::{Error, ErrorKind};

/// The XML inside a `ThreadActivity/*` message's content (and in group-chat notifications,
/// seed 000: "the same as the XML that gets sent on groupchat notifications").
///
/// ```text
/// addmember    = "<addmember>" eventtime initiator "<target>" mri "</target>" "</addmember>"
/// deletemember = "<deletemember>" eventtime initiator "<target>" mri "</target>" "</deletemember>"
/// topicupdate  = "<topicupdate>" eventtime initiator "<value>" text "</value>" "</topicupdate>"
/// roleupdate   = "<roleupdate>" eventtime initiator
///                "<target>" ("<id>" / "<mri>") mri ("</id>" / "</mri>") "<role>" role "</role>"
///                "</target>" "</roleupdate>"
/// eventtime    = "<eventtime>" MS "</eventtime>"
/// initiator    = "<initiator>" mri "</initiator>"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ThreadActivity<'a> {
    /// `<addmember>` (`ThreadActivity/AddMember`).
    AddMember(MemberChange<'a>),
    /// `<deletemember>` (`ThreadActivity/DeleteMember`).
    DeleteMember(MemberChange<'a>),
    /// `<roleupdate>` (`ThreadActivity/RoleUpdate`).
    RoleUpdate(RoleUpdate<'a>),
    /// `<topicupdate>` (`ThreadActivity/TopicUpdate`).
    TopicUpdate(TopicUpdate<'a>),
}

/// `<addmember>` / `<deletemember>`: who added or removed whom, and when.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MemberChange<'a> {
    /// `<eventtime>`: Unix time in ms.
    pub event_time: u64,
    /// `<initiator>`: the mri of the member who made the change.
    pub initiator: Cow<'a, str>,
    /// `<target>`: the mri of the member added or removed.
    pub target: Cow<'a, str>,
}

/// `<topicupdate>`: the new topic of a thread.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct TopicUpdate<'a> {
    /// `<eventtime>`: Unix time in ms.
    pub event_time: u64,
    /// `<initiator>`: the mri of the member who set the topic.
    pub initiator: Cow<'a, str>,
    /// `<value>`: the new topic.
    pub value: Cow<'a, str>,
}

/// `<roleupdate>`: a member's new role.
///
/// No seed shows a `<roleupdate>` body. The shape written is the one Miranda NG's SkypeWeb
/// plugin documents and parses (`protocols/SkypeWeb/src/skype_chatrooms.cpp`:
/// `<target><id>8:user1</id><role>admin</role></target>`). The member shape of
/// `PUT MSGR\THREAD` (`docs/protocols/msnp.md` §3.4, `<member><mri>…</mri><role>…</role></member>`)
/// suggested `<mri>` instead; that is inferred only, and accepted as a synonym of `<id>` when
/// decoding.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RoleUpdate<'a> {
    /// `<eventtime>`: Unix time in ms.
    pub event_time: u64,
    /// `<initiator>`: the mri of the member who changed the role.
    pub initiator: Cow<'a, str>,
    /// `<target><id>` (or `<mri>`): the member whose role changed.
    pub target: Cow<'a, str>,
    /// `<target><role>`: the new role (`Admin`, `User`, … — values unverified).
    pub role: Cow<'a, str>,
}

impl<'a> ThreadActivity<'a> {
    /// Decodes a ThreadActivity document with the default [`Limits`].
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a ThreadActivity document within `limits`. Another root element is
    /// [`ErrorKind::Unexpected`] at its `<`.
    pub fn parse_with(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        let mut d = Decoder::new(text, limits)?;
        let root = d.r.root()?;
        let value =
            Self::read(&mut d, &root)?.ok_or(Error::new(ErrorKind::Unexpected, root.offset()))?;
        d.r.finish()?;
        Ok(value)
    }

    /// The root element's name.
    pub fn root_name(&self) -> &'static str {
        match self {
            Self::AddMember(_) => "addmember",
            Self::DeleteMember(_) => "deletemember",
            Self::RoleUpdate(_) => "roleupdate",
            Self::TopicUpdate(_) => "topicupdate",
        }
    }

    /// `Ok(None)` (nothing consumed) when `el` is not a ThreadActivity root.
    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Option<Self>, Error> {
        let name = el.name();
        if !matches!(
            name,
            "addmember" | "deletemember" | "roleupdate" | "topicupdate"
        ) {
            return Ok(None);
        }
        let (mut time, mut initiator, mut target, mut role, mut value) =
            (None, None, None, None, None);
        while let Some(c) = d.r.next_child(el)? {
            match (name, c.name()) {
                (_, "eventtime") => put(&mut time, d.number(&c)?, &c)?,
                (_, "initiator") => put(&mut initiator, d.r.text(&c)?, &c)?,
                ("roleupdate", "target") => {
                    let mut mri = None;
                    while let Some(t) = d.r.next_child(&c)? {
                        match t.name() {
                            "id" | "mri" => put(&mut mri, d.r.text(&t)?, &t)?,
                            "role" => put(&mut role, d.r.text(&t)?, &t)?,
                            _ => d.r.skip(&t)?,
                        }
                    }
                    let end = d.r.closed_at();
                    put(&mut target, need(mri, end)?, &c)?;
                    if role.is_none() {
                        return Err(Error::new(ErrorKind::Missing, end));
                    }
                }
                ("addmember" | "deletemember", "target") => put(&mut target, d.r.text(&c)?, &c)?,
                ("topicupdate", "value") => put(&mut value, d.r.text(&c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        let end = d.r.closed_at();
        let event_time = need(time, end)?;
        let initiator = need(initiator, end)?;
        Ok(Some(match name {
            "topicupdate" => Self::TopicUpdate(TopicUpdate {
                event_time,
                initiator,
                value: need(value, end)?,
            }),
            "roleupdate" => Self::RoleUpdate(RoleUpdate {
                event_time,
                initiator,
                target: need(target, end)?,
                role: need(role, end)?,
            }),
            _ => {
                let change = MemberChange {
                    event_time,
                    initiator,
                    target: need(target, end)?,
                };
                if name == "addmember" {
                    Self::AddMember(change)
                } else {
                    Self::DeleteMember(change)
                }
            }
        }))
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let root = self.root_name();
        xml::start_tag(out, root);
        match self {
            Self::AddMember(m) | Self::DeleteMember(m) => {
                number_element(out, "eventtime", m.event_time);
                xml::text_element(out, "initiator", &m.initiator);
                xml::text_element(out, "target", &m.target);
            }
            Self::RoleUpdate(r) => {
                number_element(out, "eventtime", r.event_time);
                xml::text_element(out, "initiator", &r.initiator);
                xml::start_tag(out, "target");
                xml::text_element(out, "id", &r.target);
                xml::text_element(out, "role", &r.role);
                xml::end_tag(out, "target");
            }
            Self::TopicUpdate(t) => {
                number_element(out, "eventtime", t.event_time);
                xml::text_element(out, "initiator", &t.initiator);
                xml::text_element(out, "value", &t.value);
            }
        }
        xml::end_tag(out, root);
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> ThreadActivity<'static> {
        match self {
            Self::AddMember(m) => ThreadActivity::AddMember(m.into_owned()),
            Self::DeleteMember(m) => ThreadActivity::DeleteMember(m.into_owned()),
            Self::RoleUpdate(r) => ThreadActivity::RoleUpdate(RoleUpdate {
                event_time: r.event_time,
                initiator: own(r.initiator),
                target: own(r.target),
                role: own(r.role),
            }),
            Self::TopicUpdate(t) => ThreadActivity::TopicUpdate(TopicUpdate {
                event_time: t.event_time,
                initiator: own(t.initiator),
                value: own(t.value),
            }),
        }
    }
}

impl MemberChange<'_> {
    /// Detaches the value from its input.
    pub fn into_owned(self) -> MemberChange<'static> {
        MemberChange {
            event_time: self.event_time,
            initiator: own(self.initiator),
            target: own(self.target),
        }
    }
}
