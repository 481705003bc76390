//! The `<args>` body of S and R requests (contacts, presence, anything else kept verbatim).

use super::*;

/// The `<args>` body of S and R requests.
///
/// ```text
/// args     = "<args>" *( contacts / presence / other ) "</args>"
/// contacts = "<contacts>" *( "<contact" SP 'uri="' uri '"' *attribute " />" ) "</contacts>"
/// presence = "<presence>" [ "<basic" SP 'value="' 1*DIGIT '"' *attribute " />" ] *other "</presence>"
/// other    = any element, kept verbatim
/// ```
///
/// InviteBuddy: `<args><contacts><contact uri="sip:…;p=196" /></contacts></args>`;
/// SetPresence: `<args><presence><basic value="400" /></presence></args>`; the login R body
/// (PyFetion 2.0): `<args><device … /><caps value="…" /><events value="…" /><user-info
/// attributes="all" /><presence><basic value="400" desc="" /></presence></args>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Args<'a> {
    /// The children in document order.
    pub children: Vec<Arg<'a>>,
}

/// One child of `<args>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arg<'a> {
    /// `<contacts>`: the contacts in order.
    Contacts(Vec<Contact<'a>>),
    /// Any other element, verbatim.
    Other(Raw<'a>),
    /// `<presence>`.
    Presence(Presence<'a>),
}

/// `<contact uri="…" …/>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Contact<'a> {
    /// The contact's URI (`sip:818332893@fetion.com.cn;p=196`), unescaped.
    pub uri: Cow<'a, str>,
    /// Other attributes in order.
    pub attributes: Vec<Attribute<'a>>,
}

/// `<presence>`: an optional `<basic>` and other children, written after it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Presence<'a> {
    /// `<basic value="…"/>`.
    pub basic: Option<Basic<'a>>,
    /// Other children, verbatim, in order.
    pub rest: Vec<Raw<'a>>,
}

/// `<basic value="400" …/>`: the presence state (400 online, 0 offline, 100 away, …).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Basic<'a> {
    /// The state number.
    pub value: u32,
    /// Other attributes in order (`desc`).
    pub attributes: Vec<Attribute<'a>>,
}

impl<'a> Args<'a> {
    /// The InviteBuddy body: one `<contacts>` with a contact per URI.
    pub fn invite_buddy<U: Into<Cow<'a, str>>>(uris: impl IntoIterator<Item = U>) -> Self {
        let contacts = uris
            .into_iter()
            .map(|uri| Contact {
                uri: uri.into(),
                attributes: Vec::new(),
            })
            .collect();
        Self {
            children: vec![Arg::Contacts(contacts)],
        }
    }

    /// The SetPresence body: `<presence><basic value="…" /></presence>`.
    pub fn set_presence(value: u32) -> Self {
        let basic = Basic {
            value,
            attributes: Vec::new(),
        };
        Self {
            children: vec![Arg::Presence(Presence {
                basic: Some(basic),
                rest: Vec::new(),
            })],
        }
    }

    /// Decodes an `<args>` body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(utf8(body)?, MAX_DEPTH);
        let root = container(&mut r, "args")?;
        let mut children = Vec::new();
        while let Some(child) = r.next_child(&root)? {
            children.push(match child.name() {
                "contacts" => {
                    no_attributes(&child)?;
                    let mut contacts = Vec::new();
                    while let Some(c) = r.next_child(&child)? {
                        if c.name() != "contact" {
                            return Err(unexpected(&c));
                        }
                        let (uri, attributes) = keyed_leaf(&mut r, &c, "uri")?;
                        contacts.push(Contact { uri, attributes });
                    }
                    Arg::Contacts(contacts)
                }
                "presence" => Arg::Presence(presence(&mut r, &child)?),
                _ => Arg::Other(Raw::read(&mut r, &child)?),
            });
        }
        r.finish()?;
        Ok(Self { children })
    }

    /// Every contact of every `<contacts>`, in order.
    pub fn contacts(&self) -> impl Iterator<Item = &Contact<'a>> {
        self.children.iter().flat_map(|c| match c {
            Arg::Contacts(cs) => cs.as_slice(),
            Arg::Other(_) | Arg::Presence(_) => &[],
        })
    }

    /// The first `<presence>`.
    pub fn presence(&self) -> Option<&Presence<'a>> {
        self.children.iter().find_map(|c| match c {
            Arg::Presence(p) => Some(p),
            Arg::Contacts(_) | Arg::Other(_) => None,
        })
    }

    /// The first unknown child named `name` (`device`, `caps`, …).
    pub fn other(&self, name: &str) -> Option<&Raw<'a>> {
        self.children.iter().find_map(|c| match c {
            Arg::Other(raw) if raw.name() == name => Some(raw),
            Arg::Contacts(_) | Arg::Other(_) | Arg::Presence(_) => None,
        })
    }

    /// Writes the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.write(&mut Writer {
            sink: out,
            empty_close: ARGS_EMPTY,
        });
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        let mut count = Count(0);
        self.write(&mut Writer {
            sink: &mut count,
            empty_close: ARGS_EMPTY,
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
        w.element("args", "", "", &[], self.children.is_empty(), |w| {
            for child in &self.children {
                match child {
                    Arg::Contacts(contacts) => {
                        w.element("contacts", "", "", &[], contacts.is_empty(), |w| {
                            for c in contacts {
                                w.element("contact", "uri", &c.uri, &c.attributes, true, |_| {});
                            }
                        });
                    }
                    Arg::Other(raw) => w.sink.put(raw.markup.as_bytes()),
                    Arg::Presence(p) => {
                        w.element(
                            "presence",
                            "",
                            "",
                            &[],
                            p.basic.is_none() && p.rest.is_empty(),
                            |w| {
                                if let Some(b) = &p.basic {
                                    w.element(
                                        "basic",
                                        "value",
                                        &b.value.to_string(),
                                        &b.attributes,
                                        true,
                                        |_| {},
                                    );
                                }
                                for raw in &p.rest {
                                    w.sink.put(raw.markup.as_bytes());
                                }
                            },
                        );
                    }
                }
            }
        });
    }

    /// The same body owning its text.
    pub fn into_owned(self) -> Args<'static> {
        Args {
            children: self
                .children
                .into_iter()
                .map(|c| match c {
                    Arg::Contacts(cs) => {
                        Arg::Contacts(cs.into_iter().map(Contact::into_owned).collect())
                    }
                    Arg::Other(raw) => Arg::Other(raw.into_owned()),
                    Arg::Presence(p) => Arg::Presence(p.into_owned()),
                })
                .collect(),
        }
    }
}

impl<'a> Contact<'a> {
    /// A contact with only a URI.
    pub fn new(uri: impl Into<Cow<'a, str>>) -> Self {
        Self {
            uri: uri.into(),
            attributes: Vec::new(),
        }
    }

    /// The URI as a typed address.
    pub fn address(&self) -> Result<crate::sipc::header::Address<'_>, Error> {
        crate::sipc::header::Address::parse(&self.uri)
    }

    /// The same contact owning its text.
    pub fn into_owned(self) -> Contact<'static> {
        Contact {
            uri: own(self.uri),
            attributes: owned_attributes(self.attributes),
        }
    }
}

impl Presence<'_> {
    /// The same presence owning its text.
    pub fn into_owned(self) -> Presence<'static> {
        Presence {
            basic: self.basic.map(|b| Basic {
                value: b.value,
                attributes: owned_attributes(b.attributes),
            }),
            rest: self.rest.into_iter().map(Raw::into_owned).collect(),
        }
    }
}

/// `<presence>`: an optional `<basic>` (at most one) and other children.
fn presence<'a>(r: &mut Reader<'a>, el: &xml::Element<'a>) -> Result<Presence<'a>, Error> {
    no_attributes(el)?;
    let mut p = Presence::default();
    while let Some(child) = r.next_child(el)? {
        if child.name() == "basic" {
            if p.basic.is_some() {
                return Err(unexpected(&child));
            }
            let (value, attributes) = keyed_leaf(r, &child, "value")?;
            let value = crate::scan::decimal(value.as_bytes(), 10)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or(unexpected(&child))?;
            p.basic = Some(Basic { value, attributes });
        } else {
            p.rest.push(Raw::read(r, &child)?);
        }
    }
    Ok(p)
}

/// How `<args>` bodies close an element without content (PyFetion; seed 004 `L: 85`).
const ARGS_EMPTY: &str = " />";
