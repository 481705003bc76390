//! The `CON` bodies: `<user>` (`ATH … CON\USER`), `<connect>` (`CNT … CON`), `<msgr>`
//! (`BND … CON\MSGR`) and `<wait>` (the reply to `PNG … CON`).

use std::borrow::Cow;

use super::{Decoder, Limits, need, number_element, own, parse_root, put};
use crate::Error;
use crate::xml::{self, Element};

/// The `ATH … CON\USER` body: the credentials of an MSNP24 login.
///
/// ```text
/// user = "<user>" [ "<ssl-compact-ticket>" "t=" ticket "</ssl-compact-ticket>" ]
///        [ "<uic>" base64 "</uic>" ] [ "<id>" name "</id>" ] [ "<alias>" alias "</alias>" ]
///        [ "<web-compact-ticket />" ] "</user>"
/// ```
///
/// MIR sends ticket, uic, id and alias; a Skype-name login sends uic and id; the webclient
/// (seed 001) sends uic and an empty `<web-compact-ticket />`. All children are optional here:
/// which combination a server accepts is the server's policy, not the codec's.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct User<'a> {
    /// `<ssl-compact-ticket>`: the RPS ticket, `t=…`.
    pub ssl_compact_ticket: Option<Cow<'a, str>>,
    /// `<uic>`: the user identity certificate.
    pub uic: Option<Cow<'a, str>>,
    /// `<id>`: the Skype name.
    pub id: Option<Cow<'a, str>>,
    /// `<alias>`.
    pub alias: Option<Cow<'a, str>>,
    /// `<web-compact-ticket>`: `Some("")` for the seed's empty element (the webclient's
    /// cookies carry the credentials).
    pub web_compact_ticket: Option<Cow<'a, str>>,
}

impl<'a> User<'a> {
    /// Decodes a `<user>` document with the default [`Limits`].
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a `<user>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        parse_root(text, limits, "user", Self::read)
    }

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let mut user = Self {
            ssl_compact_ticket: None,
            uic: None,
            id: None,
            alias: None,
            web_compact_ticket: None,
        };
        while let Some(c) = d.r.next_child(el)? {
            let slot = match c.name() {
                "ssl-compact-ticket" => &mut user.ssl_compact_ticket,
                "uic" => &mut user.uic,
                "id" => &mut user.id,
                "alias" => &mut user.alias,
                "web-compact-ticket" => &mut user.web_compact_ticket,
                _ => {
                    d.r.skip(&c)?;
                    continue;
                }
            };
            put(slot, d.r.text(&c)?, &c)?;
        }
        Ok(user)
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "user");
        for (name, value) in [
            ("ssl-compact-ticket", &self.ssl_compact_ticket),
            ("uic", &self.uic),
            ("id", &self.id),
            ("alias", &self.alias),
            ("web-compact-ticket", &self.web_compact_ticket),
        ] {
            match value.as_deref() {
                Some("") => xml::empty_element(out, name),
                Some(v) => xml::text_element(out, name, v),
                None => {}
            }
        }
        xml::end_tag(out, "user");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> User<'static> {
        User {
            ssl_compact_ticket: self.ssl_compact_ticket.map(own),
            uic: self.uic.map(own),
            id: self.id.map(own),
            alias: self.alias.map(own),
            web_compact_ticket: self.web_compact_ticket.map(own),
        }
    }
}

/// The `CNT … CON` body that opens an MSNP24 session.
///
/// ```text
/// connect = "<connect>" "<ver>" N "</ver>"
///           [ "<agent>" [ "<os>" t "</os>" ] [ "<osVer>" t "</osVer>" ]
///             [ "<proc>" t "</proc>" ] [ "<lcid>" t "</lcid>" ] "</agent>" ] "</connect>"
/// ```
///
/// As MIR sends it (`docs/protocols/msnp.md` §3.1:
/// `<connect><ver>2</ver><agent><os>winnt</os><osVer>5.2</osVer><proc>x86</proc><lcid>en-us</lcid></agent></connect>`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Connect<'a> {
    /// `<ver>`: 2 in MIR.
    pub ver: u32,
    /// `<agent>`.
    pub agent: Option<Agent<'a>>,
}

/// The `<agent>` of a [`Connect`]: what the client runs on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Agent<'a> {
    /// `<os>` (`winnt`).
    pub os: Option<Cow<'a, str>>,
    /// `<osVer>` (`5.2`).
    pub os_ver: Option<Cow<'a, str>>,
    /// `<proc>` (`x86`).
    pub processor: Option<Cow<'a, str>>,
    /// `<lcid>` (`en-us`).
    pub lcid: Option<Cow<'a, str>>,
}

impl<'a> Connect<'a> {
    /// Decodes a `<connect>` document with the default [`Limits`].
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a `<connect>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        parse_root(text, limits, "connect", Self::read)
    }

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut ver, mut agent) = (None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "ver" => put(&mut ver, d.number(&c)?, &c)?,
                "agent" => {
                    let mut a = Agent {
                        os: None,
                        os_ver: None,
                        processor: None,
                        lcid: None,
                    };
                    while let Some(f) = d.r.next_child(&c)? {
                        let slot = match f.name() {
                            "os" => &mut a.os,
                            "osVer" => &mut a.os_ver,
                            "proc" => &mut a.processor,
                            "lcid" => &mut a.lcid,
                            _ => {
                                d.r.skip(&f)?;
                                continue;
                            }
                        };
                        put(slot, d.r.text(&f)?, &f)?;
                    }
                    put(&mut agent, a, &c)?;
                }
                _ => d.r.skip(&c)?,
            }
        }
        Ok(Self {
            ver: need(ver, d.r.closed_at())?,
            agent,
        })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "connect");
        number_element(out, "ver", self.ver.into());
        if let Some(a) = &self.agent {
            xml::start_tag(out, "agent");
            for (name, value) in [
                ("os", &a.os),
                ("osVer", &a.os_ver),
                ("proc", &a.processor),
                ("lcid", &a.lcid),
            ] {
                if let Some(v) = value {
                    xml::text_element(out, name, v);
                }
            }
            xml::end_tag(out, "agent");
        }
        xml::end_tag(out, "connect");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> Connect<'static> {
        Connect {
            ver: self.ver,
            agent: self.agent.map(|a| Agent {
                os: a.os.map(own),
                os_ver: a.os_ver.map(own),
                processor: a.processor.map(own),
                lcid: a.lcid.map(own),
            }),
        }
    }
}

/// The `BND … CON\MSGR` body that binds an endpoint (docs/protocols/msnp.md §3.3).
///
/// ```text
/// msgr = "<msgr>" "<ver>" N "</ver>"
///        [ "<client>" [ "<name>" t "</name>" ] [ "<ver>" t "</ver>" ] "</client>" ]
///        [ "<epid>" GUID "</epid>" ] "</msgr>"
/// ```
///
/// As MIR sends it: `<msgr><ver>2</ver><client><name>…</name><ver>…</ver></client><epid>GUID</epid></msgr>`.
/// The endpoint id is optional here: whether a server needs it is the server's policy.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Bind<'a> {
    /// `<ver>`: 2 in MIR.
    pub ver: u32,
    /// `<client>` `<name>`.
    pub client_name: Option<Cow<'a, str>>,
    /// `<client>` `<ver>`.
    pub client_ver: Option<Cow<'a, str>>,
    /// `<epid>`: the endpoint's GUID, braces kept as written.
    pub epid: Option<Cow<'a, str>>,
}

impl<'a> Bind<'a> {
    /// Decodes a `<msgr>` document with the default [`Limits`].
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a `<msgr>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        parse_root(text, limits, "msgr", Self::read)
    }

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut ver, mut client, mut epid) = (None, None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "ver" => put(&mut ver, d.number(&c)?, &c)?,
                "epid" => put(&mut epid, d.r.text(&c)?, &c)?,
                "client" => {
                    let (mut name, mut cver) = (None, None);
                    while let Some(f) = d.r.next_child(&c)? {
                        let slot = match f.name() {
                            "name" => &mut name,
                            "ver" => &mut cver,
                            _ => {
                                d.r.skip(&f)?;
                                continue;
                            }
                        };
                        put(slot, d.r.text(&f)?, &f)?;
                    }
                    put(&mut client, (name, cver), &c)?;
                }
                _ => d.r.skip(&c)?,
            }
        }
        let (client_name, client_ver) = client.unwrap_or_default();
        Ok(Self {
            ver: need(ver, d.r.closed_at())?,
            client_name,
            client_ver,
            epid,
        })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "msgr");
        number_element(out, "ver", self.ver.into());
        if self.client_name.is_some() || self.client_ver.is_some() {
            xml::start_tag(out, "client");
            for (name, value) in [("name", &self.client_name), ("ver", &self.client_ver)] {
                if let Some(v) = value {
                    xml::text_element(out, name, v);
                }
            }
            xml::end_tag(out, "client");
        }
        if let Some(e) = &self.epid {
            xml::text_element(out, "epid", e);
        }
        xml::end_tag(out, "msgr");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> Bind<'static> {
        Bind {
            ver: self.ver,
            client_name: self.client_name.map(own),
            client_ver: self.client_ver.map(own),
            epid: self.epid.map(own),
        }
    }
}

/// The body of a `PNG … CON` reply: how many seconds the client waits before its next `PNG`.
///
/// ```text
/// wait = "<wait>" N "</wait>"
/// ```
///
/// MIR reads it as its ping interval (`docs/protocols/msnp.md` §3.4); the reference server
/// sends 50. White space around the number is allowed, as in every number element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Wait {
    /// The seconds until the next `PNG`.
    pub seconds: u32,
}

impl Wait {
    /// Decodes a `<wait>` document with the default [`Limits`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a `<wait>` document within `limits`.
    pub fn parse_with(text: &str, limits: &Limits) -> Result<Self, Error> {
        parse_root(text, limits, "wait", Self::read)
    }

    pub(super) fn read<'a>(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        Ok(Self {
            seconds: d.number(el)?,
        })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        number_element(out, "wait", self.seconds.into());
    }
}
