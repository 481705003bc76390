//! The `<events>` body of BN notifications.

use super::*;

/// The `<events>` body of BN notifications.
///
/// ```text
/// events = "<events>" *event "</events>"
/// event  = "<event" SP 'type="' type '"' *attribute ( "/>" / ">" *( member / other ) "</event>" )
/// member = "<member" SP 'uri="' uri '"' *attribute "/>"
/// type   = "UserEntered" / "UserLeft" / "PresenceChanged" / "deregistered" / "SyncUserInfo"
///        / "AddBuddyApplication" / "Support" / any other text
/// ```
///
/// Seed 004 (restored per docs/protocols/fetion.md §8.6):
/// `<events><event type="UserEntered"><member uri="sip:818632893@fetion.com.cn;p=196"/></event></events>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Events<'a> {
    /// The events in order.
    pub events: Vec<Event<'a>>,
}

/// One `<event type="…">`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Event<'a> {
    /// The `type` attribute.
    pub kind: EventType<'a>,
    /// Other attributes in order.
    pub attributes: Vec<Attribute<'a>>,
    /// The children in document order.
    pub children: Vec<EventChild<'a>>,
}

/// One child of an `<event>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventChild<'a> {
    /// `<member uri="…"/>`.
    Member(Member<'a>),
    /// Any other element (PresenceChanged's `<contacts>`, SyncUserInfo's `<user-info>`), verbatim.
    Other(Raw<'a>),
}

/// `<member uri="…" …/>`: a party of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Member<'a> {
    /// The member's URI, unescaped.
    pub uri: Cow<'a, str>,
    /// Other attributes in order.
    pub attributes: Vec<Attribute<'a>>,
}

/// The `type` of an `<event>` (openfetion, docs/protocols/fetion.md §6.2). Unknown types are kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventType<'a> {
    /// `AddBuddyApplication`.
    AddBuddyApplication,
    /// `deregistered` (lower case on the wire).
    Deregistered,
    /// Any other type, as written. Never the text of one of the named variants.
    Other(Cow<'a, str>),
    /// `PresenceChanged`.
    PresenceChanged,
    /// `Support` (may precede `UserEntered`).
    Support,
    /// `SyncUserInfo`.
    SyncUserInfo,
    /// `UserEntered`.
    UserEntered,
    /// `UserLeft`.
    UserLeft,
}

impl<'a> Events<'a> {
    /// One event of `kind` naming one member: `UserEntered` with the other party is what each
    /// side of a new conversation receives (docs/protocols/fetion.md §9.6).
    pub fn single(kind: EventType<'a>, member_uri: impl Into<Cow<'a, str>>) -> Self {
        let member = Member {
            uri: member_uri.into(),
            attributes: Vec::new(),
        };
        Self {
            events: vec![Event {
                kind,
                attributes: Vec::new(),
                children: vec![EventChild::Member(member)],
            }],
        }
    }

    /// Decodes an `<events>` body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(utf8(body)?, MAX_DEPTH);
        let root = container(&mut r, "events")?;
        let mut events = Vec::new();
        while let Some(el) = r.next_child(&root)? {
            if el.name() != "event" {
                return Err(unexpected(&el));
            }
            let (kind, attributes) = keyed_attributes(&el, "type")?;
            let mut children = Vec::new();
            while let Some(child) = r.next_child(&el)? {
                children.push(match child.name() {
                    "member" => {
                        let (uri, attributes) = keyed_leaf(&mut r, &child, "uri")?;
                        EventChild::Member(Member { uri, attributes })
                    }
                    _ => EventChild::Other(Raw::read(&mut r, &child)?),
                });
            }
            events.push(Event {
                kind: EventType::from(kind),
                attributes,
                children,
            });
        }
        r.finish()?;
        Ok(Self { events })
    }

    /// Writes the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.write(&mut Writer {
            sink: out,
            empty_close: EVENTS_EMPTY,
        });
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        let mut count = Count(0);
        self.write(&mut Writer {
            sink: &mut count,
            empty_close: EVENTS_EMPTY,
        });
        count.0
    }

    /// The body as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    fn write<S: Sink>(&self, w: &mut Writer<'_, S>) {
        w.element("events", "", "", &[], self.events.is_empty(), |w| {
            for e in &self.events {
                w.element(
                    "event",
                    "type",
                    e.kind.as_str(),
                    &e.attributes,
                    e.children.is_empty(),
                    |w| {
                        for child in &e.children {
                            match child {
                                EventChild::Member(m) => {
                                    w.element("member", "uri", &m.uri, &m.attributes, true, |_| {});
                                }
                                EventChild::Other(raw) => w.sink.put(raw.markup.as_bytes()),
                            }
                        }
                    },
                );
            }
        });
    }

    /// The same body owning its text.
    pub fn into_owned(self) -> Events<'static> {
        Events {
            events: self.events.into_iter().map(Event::into_owned).collect(),
        }
    }
}

impl<'a> Event<'a> {
    /// The members, in order.
    pub fn members(&self) -> impl Iterator<Item = &Member<'a>> {
        self.children.iter().filter_map(|c| match c {
            EventChild::Member(m) => Some(m),
            EventChild::Other(_) => None,
        })
    }

    /// The same event owning its text.
    pub fn into_owned(self) -> Event<'static> {
        Event {
            kind: self.kind.into_owned(),
            attributes: owned_attributes(self.attributes),
            children: self
                .children
                .into_iter()
                .map(|c| match c {
                    EventChild::Member(m) => EventChild::Member(Member {
                        uri: own(m.uri),
                        attributes: owned_attributes(m.attributes),
                    }),
                    EventChild::Other(raw) => EventChild::Other(raw.into_owned()),
                })
                .collect(),
        }
    }
}

impl Member<'_> {
    /// The URI as a typed address.
    pub fn address(&self) -> Result<crate::sipc::header::Address<'_>, Error> {
        crate::sipc::header::Address::parse(&self.uri)
    }
}

impl<'a> EventType<'a> {
    /// The type as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AddBuddyApplication => "AddBuddyApplication",
            Self::Deregistered => "deregistered",
            Self::Other(s) => s,
            Self::PresenceChanged => "PresenceChanged",
            Self::Support => "Support",
            Self::SyncUserInfo => "SyncUserInfo",
            Self::UserEntered => "UserEntered",
            Self::UserLeft => "UserLeft",
        }
    }

    /// The same type owning its text.
    pub fn into_owned(self) -> EventType<'static> {
        match self {
            Self::AddBuddyApplication => EventType::AddBuddyApplication,
            Self::Deregistered => EventType::Deregistered,
            Self::Other(s) => EventType::Other(own(s)),
            Self::PresenceChanged => EventType::PresenceChanged,
            Self::Support => EventType::Support,
            Self::SyncUserInfo => EventType::SyncUserInfo,
            Self::UserEntered => EventType::UserEntered,
            Self::UserLeft => EventType::UserLeft,
        }
    }
}

impl fmt::Display for EventType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EventType<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How `<events>` bodies close an element without content (seed 004 `L: 100`).
const EVENTS_EMPTY: &str = "/>";

impl<'a> From<Cow<'a, str>> for EventType<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        match s.as_ref() {
            "AddBuddyApplication" => Self::AddBuddyApplication,
            "deregistered" => Self::Deregistered,
            "PresenceChanged" => Self::PresenceChanged,
            "Support" => Self::Support,
            "SyncUserInfo" => Self::SyncUserInfo,
            "UserEntered" => Self::UserEntered,
            "UserLeft" => Self::UserLeft,
            _ => Self::Other(s),
        }
    }
}
