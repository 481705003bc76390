//! Typed XML payload bodies of MSNP 21–24: the `MSGR\…` history-sync documents, the
//! ThreadActivity documents inside group-chat messages, and the `CON` login bodies.
//!
//! Sources: the wiki page "Synchronizing" of `msndevs/protocol-docs` (seed 000), the page
//! "Webclient connections" (seed 001), Miranda NG's MSNP24 plugin (MIR,
//! `protocols/MSN/src/msn_commands.cpp`, `msn_misc.cpp`) and `docs/protocols/msnp.md` §3 and §5,
//! which collects them. Each parser below quotes the grammar it implements.
//!
//! Every document type has `parse(text)` and `parse_with(text, &Limits)`, returning the value
//! or an [`Error`] whose offset is relative to `text` (a frame decoder adds the body's start
//! with [`Error::shifted`]); `encode(&self, out)` writes it back compactly (no white space
//! between elements, empty elements as `<name />` like the seed), `into_owned` detaches it.
//! [`parse_document`] picks the type from the root element's name.
//!
//! Decoding rules, the same for every document:
//!
//! * elements this module does not know are skipped (the content must still be well-formed
//!   and within [`Limits::max_depth`]), so extensions do not break decoding;
//! * a known element that may appear once but appears twice is [`ErrorKind::Unexpected`] at
//!   the second one (keeping either would silently drop data);
//! * a required child that is missing is [`ErrorKind::Missing`] at its parent's end tag (at
//!   the parent's start tag if that is an empty-element tag);
//! * a number that is not a decimal fitting its type (`start`, `pagesize`, `messageid`,
//!   `version`, `eventtime`, …) is [`ErrorKind::Unexpected`] at the first byte of the element's
//!   text; surrounding white space is allowed there, as pretty-printers add it;
//! * text values are kept exactly, white space included, unescaped, and borrow the input
//!   unless they contained a reference;
//! * bounds ([`Limits`]): document length, nesting depth, messages and conversations per
//!   document are [`ErrorKind::LimitExceeded`]; anything after the root element but white
//!   space, comments or processing instructions is [`ErrorKind::TrailingData`]; a document
//!   that is not well-formed is [`ErrorKind::Xml`] at the byte quick-xml points at.
//!
//! Deviations and inferences:
//!
//! * `<hasmore>` is read case-insensitively (`True`, `true`, `FALSE`; MIR compares with
//!   "true" ignoring case) and written `True`/`False` as the seed prints it.
//! * `<content>` is XML-escaped text on the wire (its ThreadActivity XML as well). The wiki
//!   renders some contents unescaped (`<content>hi there! <ss type="smile">:)</ss></content>`);
//!   [`Limits::allow_markup_in_content`] accepts that and keeps the child markup verbatim as
//!   the content string. Encoding always escapes.
//! * The three `;`-separated `consumptionhorizon` fields are kept as one text
//!   ([`ConsumptionHorizon`]); their meaning is an open question (`docs/protocols/msnp.md` §8).
//! * `<clientmessageid>` is kept as text: it is chosen by the sending client and nothing
//!   requires it to be a number.
//! * The shape of `<roleupdate>` is inferred (see [`RoleUpdate`]).
//! * `<options />` has only ever been seen empty; its content is skipped and it is written
//!   empty.

use std::borrow::Cow;

use crate::scan;

mod codec;

use crate::xml::{self, Element, Reader};
use crate::{Error, ErrorKind};
pub use codec::Msgr;

/// Bounds and leniencies for decoding MSGR documents. Leniencies are off by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Accept child markup inside `<content>` and keep it verbatim as the content (the wiki's
    /// rendering of seed 000 lost the escaping).
    pub allow_markup_in_content: bool,
    /// Deepest element nesting accepted (the root element is at depth 1).
    pub max_depth: usize,
    /// Most `<message>` elements in one document.
    pub max_messages: usize,
    /// Most `<conversation>` elements in one document.
    pub max_conversations: usize,
    /// Longest document, in bytes.
    pub max_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            allow_markup_in_content: false,
            max_depth: 16,
            max_messages: 1000,
            max_conversations: 1000,
            max_len: 1 << 20,
        }
    }
}

impl Limits {
    /// The default bounds with every leniency on.
    pub fn lenient() -> Self {
        Self {
            allow_markup_in_content: true,
            ..Self::default()
        }
    }
}

/// Any document this module decodes, chosen by its root element's name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Document<'a> {
    /// `<connect>` (`CNT … CON`).
    Connect(Connect<'a>),
    /// `<messagesbyconversation>` (`GET … MSGR\MESSAGESBYCONVERSATION`).
    MessagesByConversation(MessagesByConversation<'a>),
    /// `<messagesbyconversation-response>`.
    MessagesByConversationResponse(MessagesByConversationResponse<'a>),
    /// `<recentconversations>` (`GET … MSGR\RECENTCONVERSATIONS`).
    RecentConversations(RecentConversations<'a>),
    /// `<recentconversations-response>`.
    RecentConversationsResponse(RecentConversationsResponse<'a>),
    /// `<addmember>`, `<deletemember>`, `<topicupdate>` or `<roleupdate>` (a ThreadActivity
    /// message's content).
    ThreadActivity(ThreadActivity<'a>),
    /// `<user>` (`ATH … CON\USER`).
    User(User<'a>),
}

/// Decodes any document of this module with the default [`Limits`]; an unknown root element
/// is [`ErrorKind::Unexpected`] at its `<`.
pub fn parse_document(text: &str) -> Result<Document<'_>, Error> {
    parse_document_with(text, &Limits::default())
}

/// Decodes any document of this module from a payload body that must be UTF-8 (an invalid
/// sequence is [`ErrorKind::Utf8`] at its first byte).
pub fn parse_document_bytes<'a>(body: &'a [u8], limits: &Limits) -> Result<Document<'a>, Error> {
    parse_document_with(xml::utf8(body)?, limits)
}

/// Decodes any document of this module within `limits`.
pub fn parse_document_with<'a>(text: &'a str, limits: &Limits) -> Result<Document<'a>, Error> {
    let mut d = Decoder::new(text, limits)?;
    let root = d.r.root()?;
    let doc = match root.name() {
        "connect" => Document::Connect(Connect::read(&mut d, &root)?),
        "messagesbyconversation" => {
            Document::MessagesByConversation(MessagesByConversation::read(&mut d, &root)?)
        }
        "messagesbyconversation-response" => Document::MessagesByConversationResponse(
            MessagesByConversationResponse::read(&mut d, &root)?,
        ),
        "recentconversations" => {
            Document::RecentConversations(RecentConversations::read(&mut d, &root)?)
        }
        "recentconversations-response" => {
            Document::RecentConversationsResponse(RecentConversationsResponse::read(&mut d, &root)?)
        }
        "user" => Document::User(User::read(&mut d, &root)?),
        _ => match ThreadActivity::read(&mut d, &root)? {
            Some(activity) => Document::ThreadActivity(activity),
            None => return Err(Error::new(ErrorKind::Unexpected, root.offset())),
        },
    };
    d.r.finish()?;
    Ok(doc)
}

impl Document<'_> {
    /// The root element's name (`recentconversations-response`, `deletemember`, …).
    pub fn root_name(&self) -> &'static str {
        match self {
            Self::Connect(_) => "connect",
            Self::MessagesByConversation(_) => "messagesbyconversation",
            Self::MessagesByConversationResponse(_) => "messagesbyconversation-response",
            Self::RecentConversations(_) => "recentconversations",
            Self::RecentConversationsResponse(_) => "recentconversations-response",
            Self::ThreadActivity(a) => a.root_name(),
            Self::User(_) => "user",
        }
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Connect(d) => d.encode(out),
            Self::MessagesByConversation(d) => d.encode(out),
            Self::MessagesByConversationResponse(d) => d.encode(out),
            Self::RecentConversations(d) => d.encode(out),
            Self::RecentConversationsResponse(d) => d.encode(out),
            Self::ThreadActivity(d) => d.encode(out),
            Self::User(d) => d.encode(out),
        }
    }

    /// Detaches the document from its input.
    pub fn into_owned(self) -> Document<'static> {
        match self {
            Self::Connect(d) => Document::Connect(d.into_owned()),
            Self::MessagesByConversation(d) => Document::MessagesByConversation(d.into_owned()),
            Self::MessagesByConversationResponse(d) => {
                Document::MessagesByConversationResponse(d.into_owned())
            }
            Self::RecentConversations(d) => Document::RecentConversations(d.into_owned()),
            Self::RecentConversationsResponse(d) => {
                Document::RecentConversationsResponse(d.into_owned())
            }
            Self::ThreadActivity(d) => Document::ThreadActivity(d.into_owned()),
            Self::User(d) => Document::User(d.into_owned()),
        }
    }
}

// GET MSGR\RECENTCONVERSATIONS

/// The `GET … MSGR\RECENTCONVERSATIONS` request body.
///
/// ```text
/// recentconversations = "<recentconversations>" "<start>" MS "</start>"
///                       "<pagesize>" N "</pagesize>" [ "<syncstate>" HEX "</syncstate>" ]
///                       "</recentconversations>"
/// ```
///
/// `start` is Unix time in ms. Whether this request pages with `<syncstate>` is unverified
/// (seed 000: "assumed … couldn't be verified"); it is accepted and written when present.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RecentConversations<'a> {
    /// `<start>`: Unix time in ms since when events are wanted.
    pub start: u64,
    /// `<pagesize>`.
    pub page_size: u32,
    /// `<syncstate>`: the server's opaque cursor from an earlier response.
    pub sync_state: Option<Cow<'a, str>>,
}

impl<'a> RecentConversations<'a> {
    /// Decodes a `<recentconversations>` document with the default [`Limits`].
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a `<recentconversations>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        parse_root(text, limits, "recentconversations", Self::read)
    }

    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut start, mut page_size, mut sync_state) = (None, None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "start" => put(&mut start, d.number(&c)?, &c)?,
                "pagesize" => put(&mut page_size, d.number(&c)?, &c)?,
                "syncstate" => put(&mut sync_state, d.r.text(&c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        let end = d.r.closed_at();
        Ok(Self {
            start: need(start, end)?,
            page_size: need(page_size, end)?,
            sync_state,
        })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "recentconversations");
        number_element(out, "start", self.start);
        number_element(out, "pagesize", self.page_size.into());
        if let Some(s) = &self.sync_state {
            xml::text_element(out, "syncstate", s);
        }
        xml::end_tag(out, "recentconversations");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> RecentConversations<'static> {
        RecentConversations {
            start: self.start,
            page_size: self.page_size,
            sync_state: self.sync_state.map(own),
        }
    }
}

/// The reply body to `GET … MSGR\RECENTCONVERSATIONS`: the newest message of each
/// conversation.
///
/// ```text
/// recentconversations-response = "<recentconversations-response>"
///     "<conversations>" *conversation "</conversations>"
///     "<syncstate>" HEX "</syncstate>" "<hasmore>" ("True" / "False") "</hasmore>"
///     "</recentconversations-response>"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RecentConversationsResponse<'a> {
    /// `<conversations>`, in document order.
    pub conversations: Vec<Conversation<'a>>,
    /// `<syncstate>`: an opaque server cursor (hex in seed 000).
    pub sync_state: Cow<'a, str>,
    /// `<hasmore>`.
    pub has_more: bool,
}

impl<'a> RecentConversationsResponse<'a> {
    /// Decodes a `<recentconversations-response>` document with the default [`Limits`].
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a `<recentconversations-response>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        parse_root(text, limits, "recentconversations-response", Self::read)
    }

    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut conversations, mut sync_state, mut has_more) = (None, None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "conversations" => {
                    let mut list = Vec::new();
                    while let Some(conv) = d.r.next_child(&c)? {
                        if conv.name() == "conversation" {
                            d.count_conversation(&conv)?;
                            list.push(Conversation::read(d, &conv)?);
                        } else {
                            d.r.skip(&conv)?;
                        }
                    }
                    put(&mut conversations, list, &c)?;
                }
                "syncstate" => put(&mut sync_state, d.r.text(&c)?, &c)?,
                "hasmore" => put(&mut has_more, d.boolean(&c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        let end = d.r.closed_at();
        Ok(Self {
            conversations: need(conversations, end)?,
            sync_state: need(sync_state, end)?,
            has_more: need(has_more, end)?,
        })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "recentconversations-response");
        xml::start_tag(out, "conversations");
        for c in &self.conversations {
            c.encode(out);
        }
        xml::end_tag(out, "conversations");
        xml::text_element(out, "syncstate", &self.sync_state);
        bool_element(out, "hasmore", self.has_more);
        xml::end_tag(out, "recentconversations-response");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> RecentConversationsResponse<'static> {
        RecentConversationsResponse {
            conversations: self
                .conversations
                .into_iter()
                .map(Conversation::into_owned)
                .collect(),
            sync_state: own(self.sync_state),
            has_more: self.has_more,
        }
    }
}

/// One `<conversation>` of a [`RecentConversationsResponse`].
///
/// ```text
/// conversation = "<conversation>" "<id>" mri "</id>" "<version>" MS "</version>"
///                "<properties>" [ "<consumptionhorizon>" A ";" B ";" C "</consumptionhorizon>" ]
///                "</properties>" "<options />"
///                "<messages>" *message "</messages>"
///                [ "<thread>" "<lastjoinat>" MS "</lastjoinat>" "<version>" MS "</version>"
///                  [ "<topic>" text "</topic>" ] "</thread>" ]
///                "</conversation>"
/// ```
///
/// `id`, `version` and `messages` are required; `<properties>` and `<options>` may be absent
/// (they are always written).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Conversation<'a> {
    /// `<id>`: the peer's or the group thread's mri (`8:live:user1`, `19:…@thread.skype`).
    pub id: Cow<'a, str>,
    /// `<version>`: Unix time in ms.
    pub version: u64,
    /// `<properties><consumptionhorizon>`.
    pub consumption_horizon: Option<ConsumptionHorizon<'a>>,
    /// `<messages>`: only the newest message of the conversation (`docs/protocols/msnp.md` §7.7).
    pub messages: Vec<Message<'a>>,
    /// `<thread>`, for group threads.
    pub thread: Option<Thread<'a>>,
}

impl<'a> Conversation<'a> {
    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut version, mut properties, mut messages, mut thread) =
            (None, None, None, None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "id" => put(&mut id, d.r.text(&c)?, &c)?,
                "version" => put(&mut version, d.number(&c)?, &c)?,
                "properties" => {
                    let mut horizon = None;
                    while let Some(p) = d.r.next_child(&c)? {
                        if p.name() == "consumptionhorizon" {
                            put(&mut horizon, ConsumptionHorizon(d.r.text(&p)?), &p)?;
                        } else {
                            d.r.skip(&p)?;
                        }
                    }
                    put(&mut properties, horizon, &c)?;
                }
                "messages" => put(&mut messages, d.messages(&c)?, &c)?,
                "thread" => put(&mut thread, Thread::read(d, &c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        let end = d.r.closed_at();
        Ok(Self {
            id: need(id, end)?,
            version: need(version, end)?,
            consumption_horizon: properties.flatten(),
            messages: need(messages, end)?,
            thread,
        })
    }

    /// Appends the element's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "conversation");
        xml::text_element(out, "id", &self.id);
        number_element(out, "version", self.version);
        match &self.consumption_horizon {
            Some(h) => {
                xml::start_tag(out, "properties");
                xml::text_element(out, "consumptionhorizon", h.as_str());
                xml::end_tag(out, "properties");
            }
            None => xml::empty_element(out, "properties"),
        }
        xml::empty_element(out, "options");
        encode_messages(out, &self.messages);
        if let Some(t) = &self.thread {
            t.encode(out);
        }
        xml::end_tag(out, "conversation");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> Conversation<'static> {
        Conversation {
            id: own(self.id),
            version: self.version,
            consumption_horizon: self.consumption_horizon.map(ConsumptionHorizon::into_owned),
            messages: self.messages.into_iter().map(Message::into_owned).collect(),
            thread: self.thread.map(Thread::into_owned),
        }
    }
}

/// A `<consumptionhorizon>` value, `A;B;C`: in seed 000 two Unix ms timestamps and an id
/// that looks like a `clientmessageid`. The meaning is not documented, so the text is kept as
/// it came; [`fields`](Self::fields) splits it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ConsumptionHorizon<'a>(pub Cow<'a, str>);

impl ConsumptionHorizon<'_> {
    /// The text as it came.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three fields: two Unix ms timestamps and the opaque third one, or `None` unless
    /// the text is exactly `digits;digits;rest`.
    pub fn fields(&self) -> Option<(u64, u64, &str)> {
        let mut parts = self.0.splitn(3, ';');
        let a = scan::decimal(parts.next()?.as_bytes(), 20)?;
        let b = scan::decimal(parts.next()?.as_bytes(), 20)?;
        Some((a, b, parts.next()?))
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> ConsumptionHorizon<'static> {
        ConsumptionHorizon(own(self.0))
    }
}

/// A conversation's `<thread>` (group threads only).
///
/// ```text
/// thread = "<thread>" "<lastjoinat>" MS "</lastjoinat>" "<version>" MS "</version>"
///          [ "<topic>" text "</topic>" ] "</thread>"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Thread<'a> {
    /// `<lastjoinat>`: Unix time in ms.
    pub last_join_at: u64,
    /// `<version>`: Unix time in ms.
    pub version: u64,
    /// `<topic>`.
    pub topic: Option<Cow<'a, str>>,
}

impl<'a> Thread<'a> {
    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut last_join_at, mut version, mut topic) = (None, None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "lastjoinat" => put(&mut last_join_at, d.number(&c)?, &c)?,
                "version" => put(&mut version, d.number(&c)?, &c)?,
                "topic" => put(&mut topic, d.r.text(&c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        let end = d.r.closed_at();
        Ok(Self {
            last_join_at: need(last_join_at, end)?,
            version: need(version, end)?,
            topic,
        })
    }

    /// Appends the element's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "thread");
        number_element(out, "lastjoinat", self.last_join_at);
        number_element(out, "version", self.version);
        if let Some(t) = &self.topic {
            xml::text_element(out, "topic", t);
        }
        xml::end_tag(out, "thread");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> Thread<'static> {
        Thread {
            last_join_at: self.last_join_at,
            version: self.version,
            topic: self.topic.map(own),
        }
    }
}

// GET MSGR\MESSAGESBYCONVERSATION

/// The `GET … MSGR\MESSAGESBYCONVERSATION` request body.
///
/// ```text
/// messagesbyconversation = "<messagesbyconversation>" "<id>" mri "</id>"
///     "<start>" MS "</start>" [ "<messagessyncstate>" HEX "</messagessyncstate>" ]
///     "<pagesize>" N "</pagesize>" "</messagesbyconversation>"
/// ```
///
/// A client pages by repeating the request with the same `id` and `start` plus the last
/// response's `messagessyncstate` (seed 000).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MessagesByConversation<'a> {
    /// `<id>`: the conversation's mri.
    pub id: Cow<'a, str>,
    /// `<start>`: Unix time in ms.
    pub start: u64,
    /// `<messagessyncstate>`: the cursor from the previous page.
    pub messages_sync_state: Option<Cow<'a, str>>,
    /// `<pagesize>`.
    pub page_size: u32,
}

impl<'a> MessagesByConversation<'a> {
    /// Decodes a `<messagesbyconversation>` document with the default [`Limits`].
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a `<messagesbyconversation>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        parse_root(text, limits, "messagesbyconversation", Self::read)
    }

    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut start, mut sync, mut page_size) = (None, None, None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "id" => put(&mut id, d.r.text(&c)?, &c)?,
                "start" => put(&mut start, d.number(&c)?, &c)?,
                "messagessyncstate" => put(&mut sync, d.r.text(&c)?, &c)?,
                "pagesize" => put(&mut page_size, d.number(&c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        let end = d.r.closed_at();
        Ok(Self {
            id: need(id, end)?,
            start: need(start, end)?,
            messages_sync_state: sync,
            page_size: need(page_size, end)?,
        })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "messagesbyconversation");
        xml::text_element(out, "id", &self.id);
        number_element(out, "start", self.start);
        if let Some(s) = &self.messages_sync_state {
            xml::text_element(out, "messagessyncstate", s);
        }
        number_element(out, "pagesize", self.page_size.into());
        xml::end_tag(out, "messagesbyconversation");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> MessagesByConversation<'static> {
        MessagesByConversation {
            id: own(self.id),
            start: self.start,
            messages_sync_state: self.messages_sync_state.map(own),
            page_size: self.page_size,
        }
    }
}

/// The reply body to `GET … MSGR\MESSAGESBYCONVERSATION`: one page of history, newest first.
///
/// ```text
/// messagesbyconversation-response = "<messagesbyconversation-response>" "<id>" mri "</id>"
///     "<messages>" *message "</messages>"
///     "<messagessyncstate>" HEX "</messagessyncstate>"
///     "<hasmore>" ("True" / "False") "</hasmore>" "</messagesbyconversation-response>"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MessagesByConversationResponse<'a> {
    /// `<id>`: the conversation's mri.
    pub id: Cow<'a, str>,
    /// `<messages>`, newest first.
    pub messages: Vec<Message<'a>>,
    /// `<messagessyncstate>`: the cursor for the next page.
    pub messages_sync_state: Cow<'a, str>,
    /// `<hasmore>`.
    pub has_more: bool,
}

impl<'a> MessagesByConversationResponse<'a> {
    /// Decodes a `<messagesbyconversation-response>` document with the default [`Limits`].
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        Self::parse_with(text, &Limits::default())
    }

    /// Decodes a `<messagesbyconversation-response>` document within `limits`.
    pub fn parse_with(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        parse_root(text, limits, "messagesbyconversation-response", Self::read)
    }

    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut messages, mut sync, mut has_more) = (None, None, None, None);
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "id" => put(&mut id, d.r.text(&c)?, &c)?,
                "messages" => put(&mut messages, d.messages(&c)?, &c)?,
                "messagessyncstate" => put(&mut sync, d.r.text(&c)?, &c)?,
                "hasmore" => put(&mut has_more, d.boolean(&c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        let end = d.r.closed_at();
        Ok(Self {
            id: need(id, end)?,
            messages: need(messages, end)?,
            messages_sync_state: need(sync, end)?,
            has_more: need(has_more, end)?,
        })
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "messagesbyconversation-response");
        xml::text_element(out, "id", &self.id);
        encode_messages(out, &self.messages);
        xml::text_element(out, "messagessyncstate", &self.messages_sync_state);
        bool_element(out, "hasmore", self.has_more);
        xml::end_tag(out, "messagesbyconversation-response");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> MessagesByConversationResponse<'static> {
        MessagesByConversationResponse {
            id: own(self.id),
            messages: self.messages.into_iter().map(Message::into_owned).collect(),
            messages_sync_state: own(self.messages_sync_state),
            has_more: self.has_more,
        }
    }
}

// <message>

/// One stored `<message>` of a history response.
///
/// ```text
/// message = "<message>" "<messageid>" MS "</messageid>"
///           "<originalarrivaltime>" ISO8601.mmmZ "</originalarrivaltime>"
///           "<from>" mri [";epid={" GUID "}"] "</from>" "<messagetype>" T "</messagetype>"
///           "<content>" XML-escaped text "</content>"
///           [ "<clientmessageid>" id "</clientmessageid>" ]
///           "<composetime>" ISO8601.mmmZ "</composetime>" "</message>"
/// ```
///
/// Group-chat messages have `from` = the thread id; the actor of a `ThreadActivity/*`
/// message is inside its content ([`Message::thread_activity`]). Times are kept as text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Message<'a> {
    /// `<messageid>`: the server's id, a Unix ms timestamp in seed 000.
    pub message_id: u64,
    /// `<originalarrivaltime>`: ISO 8601 with milliseconds.
    pub original_arrival_time: Cow<'a, str>,
    /// `<from>`: the sender's mri, with `;epid={…}` for 1:1 messages.
    pub from: Cow<'a, str>,
    /// `<messagetype>`: `Text`, `RichText`, `ThreadActivity/DeleteMember`, …
    pub message_type: Cow<'a, str>,
    /// `<content>`, unescaped.
    pub content: Cow<'a, str>,
    /// `<clientmessageid>`: the sending client's id for the message.
    pub client_message_id: Option<Cow<'a, str>>,
    /// `<composetime>`: ISO 8601 with milliseconds.
    pub compose_time: Cow<'a, str>,
}

impl<'a> Message<'a> {
    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut arrival, mut from, mut kind, mut content, mut client_id, mut compose) =
            (None, None, None, None, None, None, None);
        let allow_markup = d.limits.allow_markup_in_content;
        while let Some(c) = d.r.next_child(el)? {
            match c.name() {
                "messageid" => put(&mut id, d.number(&c)?, &c)?,
                "originalarrivaltime" => put(&mut arrival, d.r.text(&c)?, &c)?,
                "from" => put(&mut from, d.r.text(&c)?, &c)?,
                "messagetype" => put(&mut kind, d.r.text(&c)?, &c)?,
                "content" => put(&mut content, d.r.text_or_markup(&c, allow_markup)?, &c)?,
                "clientmessageid" => put(&mut client_id, d.r.text(&c)?, &c)?,
                "composetime" => put(&mut compose, d.r.text(&c)?, &c)?,
                _ => d.r.skip(&c)?,
            }
        }
        let end = d.r.closed_at();
        Ok(Self {
            message_id: need(id, end)?,
            original_arrival_time: need(arrival, end)?,
            from: need(from, end)?,
            message_type: need(kind, end)?,
            content: need(content, end)?,
            client_message_id: client_id,
            compose_time: need(compose, end)?,
        })
    }

    /// For a `ThreadActivity/*` message, its content decoded as a [`ThreadActivity`] (offsets
    /// of errors are relative to the unescaped content); `None` for other message types.
    pub fn thread_activity(&self) -> Option<Result<ThreadActivity<'_>, Error>> {
        self.message_type
            .starts_with("ThreadActivity/")
            .then(|| ThreadActivity::parse(&self.content))
    }

    /// Appends the element's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        xml::start_tag(out, "message");
        number_element(out, "messageid", self.message_id);
        xml::text_element(out, "originalarrivaltime", &self.original_arrival_time);
        xml::text_element(out, "from", &self.from);
        xml::text_element(out, "messagetype", &self.message_type);
        xml::text_element(out, "content", &self.content);
        if let Some(id) = &self.client_message_id {
            xml::text_element(out, "clientmessageid", id);
        }
        xml::text_element(out, "composetime", &self.compose_time);
        xml::end_tag(out, "message");
    }

    /// Detaches the value from its input.
    pub fn into_owned(self) -> Message<'static> {
        Message {
            message_id: self.message_id,
            original_arrival_time: own(self.original_arrival_time),
            from: own(self.from),
            message_type: own(self.message_type),
            content: own(self.content),
            client_message_id: self.client_message_id.map(own),
            compose_time: own(self.compose_time),
        }
    }
}

// ThreadActivity

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
    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Option<Self>, Error> {
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

// CON bodies

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

    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
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

    fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
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

// helpers

/// The reader plus the bounds and the running counts they limit.
struct Decoder<'a, 'l> {
    r: Reader<'a>,
    limits: &'l Limits,
    messages: usize,
    conversations: usize,
}

impl<'a, 'l> Decoder<'a, 'l> {
    fn new(text: &'a str, limits: &'l Limits) -> Result<Self, Error> {
        if text.len() > limits.max_len {
            return Err(Error::new(ErrorKind::LimitExceeded, limits.max_len));
        }
        Ok(Self {
            r: Reader::new(text, limits.max_depth),
            limits,
            messages: 0,
            conversations: 0,
        })
    }

    /// `<messages>`: the `<message>` children, other children skipped.
    fn messages(&mut self, el: &Element<'a>) -> Result<Vec<Message<'a>>, Error> {
        let mut list = Vec::new();
        while let Some(m) = self.r.next_child(el)? {
            if m.name() != "message" {
                self.r.skip(&m)?;
                continue;
            }
            self.messages += 1;
            if self.messages > self.limits.max_messages {
                return Err(Error::new(ErrorKind::LimitExceeded, m.offset()));
            }
            list.push(Message::read(self, &m)?);
        }
        Ok(list)
    }

    fn count_conversation(&mut self, el: &Element<'a>) -> Result<(), Error> {
        self.conversations += 1;
        if self.conversations > self.limits.max_conversations {
            return Err(Error::new(ErrorKind::LimitExceeded, el.offset()));
        }
        Ok(())
    }

    /// An element whose text is a decimal number of type `T`.
    fn number<T: TryFrom<u64>>(&mut self, el: &Element<'a>) -> Result<T, Error> {
        let text = self.r.text(el)?;
        scan::decimal(xml::trim(&text).as_bytes(), 20)
            .and_then(|n| T::try_from(n).ok())
            .ok_or(Error::new(ErrorKind::Unexpected, el.content_offset()))
    }

    /// An element whose text is `true` or `false` in any case.
    fn boolean(&mut self, el: &Element<'a>) -> Result<bool, Error> {
        let text = self.r.text(el)?;
        let text = xml::trim(&text);
        if text.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if text.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(Error::new(ErrorKind::Unexpected, el.content_offset()))
        }
    }
}

/// Decodes a document whose root element must be `root`.
fn parse_root<'a, T>(
    text: &'a str,
    limits: &Limits,
    root: &str,
    read: impl FnOnce(&mut Decoder<'a, '_>, &Element<'a>) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut d = Decoder::new(text, limits)?;
    let el = d.r.root()?;
    if el.name() != root {
        return Err(Error::new(ErrorKind::Unexpected, el.offset()));
    }
    let value = read(&mut d, &el)?;
    d.r.finish()?;
    Ok(value)
}

/// Stores the value of a child that may appear once; a second one is `Unexpected` at it.
fn put<T>(slot: &mut Option<T>, value: T, el: &Element<'_>) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::new(ErrorKind::Unexpected, el.offset()));
    }
    *slot = Some(value);
    Ok(())
}

/// A required child's value, or `Missing` at `end` (the parent's end tag).
fn need<T>(slot: Option<T>, end: usize) -> Result<T, Error> {
    slot.ok_or(Error::new(ErrorKind::Missing, end))
}

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

fn encode_messages(out: &mut Vec<u8>, messages: &[Message<'_>]) {
    if messages.is_empty() {
        xml::empty_element(out, "messages");
        return;
    }
    xml::start_tag(out, "messages");
    for m in messages {
        m.encode(out);
    }
    xml::end_tag(out, "messages");
}

fn number_element(out: &mut Vec<u8>, name: &str, n: u64) {
    xml::start_tag(out, name);
    push_decimal(out, n);
    xml::end_tag(out, name);
}

fn bool_element(out: &mut Vec<u8>, name: &str, b: bool) {
    xml::text_element(out, name, if b { "True" } else { "False" });
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    // Seed 000 with the wiki's rendering undone: `<content>` escaped again, and the group
    // thread id that the page's e-mail obfuscation turned into `[email protected]` restored
    // from the `<messagessyncstate>` hex (docs/protocols/msnp.md §5.5).
    const THREAD: &str = "19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype";

    const RECENT_REQUEST: &str = "<recentconversations><start>1428249688000</start><pagesize>100</pagesize></recentconversations>";

    const RECENT_RESPONSE: &str = r#"<recentconversations-response>
<conversations>
<conversation>
<id>8:live:user1</id>
<version>1430489866083</version>
<properties>
<consumptionhorizon>1430404148000;1430489865000;10156429743073042633</consumptionhorizon>
</properties>
<options />
<messages>
<message>
<messageid>1430300402349</messageid>
<originalarrivaltime>2015-04-29T09:36:41.592Z</originalarrivaltime>
<from>8:live:user1;epid={00155193-decb-dc89-95e0-43bd987ed463}</from>
<messagetype>Text</messagetype>
<content>my message</content>
<clientmessageid>5120743105835678321</clientmessageid>
<composetime>2015-04-29T09:36:41.592Z</composetime>
</message>
</messages>
</conversation>
<conversation>
<id>8:live:user2</id>
<version>1430485886314</version>
<properties>
<consumptionhorizon>1429961225000;1429984818000;3932865346765530604</consumptionhorizon>
</properties>
<options />
<messages>
<message>
<messageid>1430300404679</messageid>
<originalarrivaltime>2015-05-01T13:11:26.178Z</originalarrivaltime>
<from>8:live:user2;epid={ee155593-eeca-da89-95f0-46bd987ed489}</from>
<messagetype>RichText</messagetype>
<content>hi there! &lt;ss type="smile"&gt;:)&lt;/ss&gt;</content>
<clientmessageid>5137215689534566412</clientmessageid>
<composetime>2015-05-01T13:11:26.178Z</composetime>
</message>
</messages>
</conversation>
<conversation>
<id>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</id>
<version>1430775110903</version>
<properties />
<options />
<messages>
<message>
<messageid>1430768120706</messageid>
<originalarrivaltime>2015-05-04T21:31:50.903Z</originalarrivaltime>
<from>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</from>
<messagetype>ThreadActivity/DeleteMember</messagetype>
<content>&lt;deletemember&gt;&lt;eventtime&gt;1430775111792&lt;/eventtime&gt;&lt;initiator&gt;8:live:user1&lt;/initiator&gt;&lt;target&gt;8:live:user2&lt;/target&gt;&lt;/deletemember&gt;</content>
<composetime>2015-05-04T21:31:50.903Z</composetime>
</message>
</messages>
<thread>
<lastjoinat>1430661534162</lastjoinat>
<version>1430775110903</version>
<topic>live:user1, live:user2</topic>
</thread>
</conversation>
</conversations>
<syncstate>12406b7d754c01000000000000000000003b4b87c6d6cc4d250b0000006c656563686572313333378bc4860a410100000100000000000000007f33fc0f4d01000001406b7d754c0100007f33fc0f4d0100000100000000000000007f33fc0f4d01000001406b7d754c0100007f33fc0f4d0100000000000000000000</syncstate>
<hasmore>False</hasmore>
</recentconversations-response>
"#;

    const MBC_REQUEST: &str = "<messagesbyconversation>\n<id>8:live:user1</id>\n<start>1428249689000</start>\n<pagesize>100</pagesize>\n</messagesbyconversation>";

    const MBC_REQUEST_PAGED: &str = "<messagesbyconversation>\n<id>8:live:user1</id>\n<start>1428249689000</start>\n<messagessyncstate>123000000031393a3938383063313965643139623463306639313930346636393739656261306235407468726561642e736b79706501bc31d0194d0100000e0fd4194d01000000</messagessyncstate>\n<pagesize>100</pagesize>\n</messagesbyconversation>";

    const MBC_RESPONSE: &str = r#"<messagesbyconversation-response>
<id>8:live:user1</id>
<messages>
<message>
<messageid>1429962782814</messageid>
<originalarrivaltime>2015-04-25T11:53:02.852Z</originalarrivaltime>
<from>8:live:user1;epid={00155193-decb-dc89-95e0-43bd987ed463}</from>
<messagetype>Text</messagetype>
<content>&lt;hellooo&gt;</content>
<clientmessageid>6141646244149221670</clientmessageid>
<composetime>2015-04-25T11:53:02.852Z</composetime>
</message>
<message>
<messageid>1429961236525</messageid>
<originalarrivaltime>2015-04-25T11:27:16.961Z</originalarrivaltime>
<from>8:live:user2;epid={ee155593-eeca-da89-95f0-46bd987ed489}</from>
<messagetype>RichText</messagetype>
<content>hi there! &lt;ss type="smile"&gt;:)&lt;/ss&gt;</content>
<clientmessageid>17625830632587334299</clientmessageid>
<composetime>2015-04-25T11:27:16.961Z</composetime>
</message>
</messages>
<messagessyncstate>123000000031393a3938383063313965643139623463306639313930346636393739656261306235407468726561642e736b79706501bc31d0194d0100000e0fd4194d01000000</messagessyncstate>
<hasmore>False</hasmore>
</messagesbyconversation-response>"#;

    const MBC_RESPONSE_GROUP: &str = r#"<messagesbyconversation-response>
<id>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</id>
<messages>
<message>
<messageid>1430757437454</messageid>
<originalarrivaltime>2015-05-03T12:50:37.454Z</originalarrivaltime>
<from>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</from>
<messagetype>ThreadActivity/DeleteMember</messagetype>
<content>&lt;deletemember&gt;&lt;eventtime&gt;1430657438265&lt;/eventtime&gt;&lt;initiator&gt;8:live:user1&lt;/initiator&gt;&lt;target&gt;8:live:user1&lt;/target&gt;&lt;/deletemember&gt;</content>
<composetime>2015-05-03T12:50:37.454Z</composetime>
</message>
<message>
<messageid>1430757238975</messageid>
<originalarrivaltime>2015-05-03T12:47:18.975Z</originalarrivaltime>
<from>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</from>
<messagetype>ThreadActivity/TopicUpdate</messagetype>
<content>&lt;topicupdate&gt;&lt;eventtime&gt;1430657239224&lt;/eventtime&gt;&lt;initiator&gt;8:live:user1&lt;/initiator&gt;&lt;value&gt;And this is the new chat topic&lt;/value&gt;&lt;/topicupdate&gt;</content>
<composetime>2015-05-03T12:47:18.975Z</composetime>
</message>
<message>
<messageid>1430757193953</messageid>
<originalarrivaltime>2015-05-03T12:46:33.953Z</originalarrivaltime>
<from>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</from>
<messagetype>ThreadActivity/AddMember</messagetype>
<content>&lt;addmember&gt;&lt;eventtime&gt;1430657193953&lt;/eventtime&gt;&lt;initiator&gt;8:live:user1&lt;/initiator&gt;&lt;target&gt;8:live:user2&lt;/target&gt;&lt;/addmember&gt;</content>
<composetime>2015-05-03T12:46:33.953Z</composetime>
</message>
</messages>
<messagessyncstate>123000000031393a3938383063313965643139623463306639313930346636393739656261306235407468726561642e736b79706501bc31d0194d0100000e0fd4194d01000000</messagessyncstate>
<hasmore>False</hasmore>
</messagesbyconversation-response>"#;

    // Seed 001 (the uic is elided in the seed itself).
    const USER_WEB: &str = "<user><uic>AAAAABnpOEW...vLV7w==</uic><web-compact-ticket /></user>";
    // docs/protocols/msnp.md §3.2, MIR's shape.
    const USER_MIR: &str = "<user><ssl-compact-ticket>t=EwC4Aq1DBAAU&amp;p=</ssl-compact-ticket><uic>AAAA</uic><id>live:user1</id><alias>user1</alias></user>";
    const CONNECT: &str = "<connect><ver>2</ver><agent><os>winnt</os><osVer>5.2</osVer><proc>x86</proc><lcid>en-us</lcid></agent></connect>";

    fn err<T: core::fmt::Debug>(r: Result<T, Error>) -> (ErrorKind, usize) {
        match r {
            Ok(v) => panic!("accepted: {v:?}"),
            Err(e) => (e.kind(), e.offset()),
        }
    }

    fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn msgr_seed000_recent_request() {
        let r = RecentConversations::parse(RECENT_REQUEST).unwrap();
        assert_eq!(
            r,
            RecentConversations {
                start: 1428249688000,
                page_size: 100,
                sync_state: None
            }
        );
        assert_eq!(encoded(|o| r.encode(o)), RECENT_REQUEST);
    }

    #[test]
    fn msgr_seed000_recent_response() {
        let r = RecentConversationsResponse::parse(RECENT_RESPONSE).unwrap();
        assert_eq!(r.conversations.len(), 3);
        assert!(!r.has_more);
        assert!(r.sync_state.starts_with("12406b7d754c") && r.sync_state.len() == 248);

        let c = &r.conversations[0];
        assert_eq!((c.id.as_ref(), c.version), ("8:live:user1", 1430489866083));
        let h = c.consumption_horizon.as_ref().unwrap();
        assert_eq!(
            h.fields(),
            Some((1430404148000, 1430489865000, "10156429743073042633"))
        );
        assert!(c.thread.is_none());
        assert_eq!(
            c.messages,
            [Message {
                message_id: 1430300402349,
                original_arrival_time: "2015-04-29T09:36:41.592Z".into(),
                from: "8:live:user1;epid={00155193-decb-dc89-95e0-43bd987ed463}".into(),
                message_type: "Text".into(),
                content: "my message".into(),
                client_message_id: Some("5120743105835678321".into()),
                compose_time: "2015-04-29T09:36:41.592Z".into(),
            }]
        );
        assert!(matches!(c.messages[0].content, Cow::Borrowed(_)));

        let m = &r.conversations[1].messages[0];
        assert_eq!(m.content, r#"hi there! <ss type="smile">:)</ss>"#);
        assert_eq!(m.message_type, "RichText");

        let g = &r.conversations[2];
        assert_eq!(g.id, THREAD);
        assert_eq!(g.consumption_horizon, None);
        assert_eq!(
            g.thread,
            Some(Thread {
                last_join_at: 1430661534162,
                version: 1430775110903,
                topic: Some("live:user1, live:user2".into())
            })
        );
        let m = &g.messages[0];
        assert_eq!(
            (m.from.as_ref(), m.client_message_id.as_ref()),
            (THREAD, None)
        );
        assert_eq!(
            m.thread_activity().unwrap().unwrap(),
            ThreadActivity::DeleteMember(MemberChange {
                event_time: 1430775111792,
                initiator: "8:live:user1".into(),
                target: "8:live:user2".into()
            })
        );
        assert!(r.conversations[0].messages[0].thread_activity().is_none());
        assert_round_trips(&Document::RecentConversationsResponse(r));
    }

    #[test]
    fn msgr_seed000_messages_by_conversation() {
        let q = MessagesByConversation::parse(MBC_REQUEST).unwrap();
        assert_eq!(
            (q.id.as_ref(), q.start, q.page_size),
            ("8:live:user1", 1428249689000, 100)
        );
        assert_eq!(q.messages_sync_state, None);
        let p = MessagesByConversation::parse(MBC_REQUEST_PAGED).unwrap();
        assert_eq!(p.messages_sync_state.as_deref().map(str::len), Some(142));
        assert_eq!(
            MessagesByConversation {
                messages_sync_state: None,
                ..p.clone()
            },
            q
        );
        assert_round_trips(&Document::MessagesByConversation(p));

        let r = MessagesByConversationResponse::parse(MBC_RESPONSE).unwrap();
        assert_eq!(r.id, "8:live:user1");
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[0].content, "<hellooo>");
        assert_eq!(
            r.messages[1].client_message_id.as_deref(),
            Some("17625830632587334299")
        );
        assert!(
            r.messages[0].message_id > r.messages[1].message_id,
            "newest first"
        );
        assert!(!r.has_more);
        assert_round_trips(&Document::MessagesByConversationResponse(r));
    }

    #[test]
    fn msgr_seed000_group_history() {
        let r = MessagesByConversationResponse::parse(MBC_RESPONSE_GROUP).unwrap();
        assert_eq!(r.id, THREAD);
        let activities: Vec<_> = r
            .messages
            .iter()
            .map(|m| m.thread_activity().unwrap().unwrap())
            .collect();
        assert_eq!(
            activities,
            [
                ThreadActivity::DeleteMember(MemberChange {
                    event_time: 1430657438265,
                    initiator: "8:live:user1".into(),
                    target: "8:live:user1".into()
                }),
                ThreadActivity::TopicUpdate(TopicUpdate {
                    event_time: 1430657239224,
                    initiator: "8:live:user1".into(),
                    value: "And this is the new chat topic".into()
                }),
                ThreadActivity::AddMember(MemberChange {
                    event_time: 1430657193953,
                    initiator: "8:live:user1".into(),
                    target: "8:live:user2".into()
                }),
            ]
        );
        for (m, a) in r.messages.iter().zip(&activities) {
            assert_eq!(
                m.message_type
                    .strip_prefix("ThreadActivity/")
                    .map(str::to_lowercase)
                    .as_deref(),
                Some(a.root_name())
            );
        }
    }

    #[test]
    fn msgr_seed001_user_and_connect() {
        let u = User::parse(USER_WEB).unwrap();
        assert_eq!(u.uic.as_deref(), Some("AAAAABnpOEW...vLV7w=="));
        assert_eq!(u.web_compact_ticket.as_deref(), Some(""));
        assert_eq!(
            (
                u.ssl_compact_ticket.as_ref(),
                u.id.as_ref(),
                u.alias.as_ref()
            ),
            (None, None, None)
        );
        assert_eq!(encoded(|o| u.encode(o)), USER_WEB);

        let u = User::parse(USER_MIR).unwrap();
        assert_eq!(u.ssl_compact_ticket.as_deref(), Some("t=EwC4Aq1DBAAU&p="));
        assert_eq!(
            (u.id.as_deref(), u.alias.as_deref()),
            (Some("live:user1"), Some("user1"))
        );
        assert_eq!(u.web_compact_ticket, None);
        assert_eq!(encoded(|o| u.encode(o)), USER_MIR);

        let c = Connect::parse(CONNECT).unwrap();
        assert_eq!(c.ver, 2);
        let a = c.agent.as_ref().unwrap();
        assert_eq!(
            (
                a.os.as_deref(),
                a.os_ver.as_deref(),
                a.processor.as_deref(),
                a.lcid.as_deref()
            ),
            (Some("winnt"), Some("5.2"), Some("x86"), Some("en-us"))
        );
        assert_eq!(encoded(|o| c.encode(o)), CONNECT);
    }

    #[test]
    fn msgr_document_dispatch() {
        let cases = [
            (RECENT_REQUEST, "recentconversations"),
            (RECENT_RESPONSE, "recentconversations-response"),
            (MBC_REQUEST, "messagesbyconversation"),
            (MBC_RESPONSE, "messagesbyconversation-response"),
            (USER_WEB, "user"),
            (CONNECT, "connect"),
            (
                "<topicupdate><eventtime>1</eventtime><initiator>8:a</initiator><value>t</value></topicupdate>",
                "topicupdate",
            ),
        ];
        for (text, root) in cases {
            let doc = parse_document(text).unwrap();
            assert_eq!(doc.root_name(), root);
            assert_round_trips(&doc);
        }
        assert_eq!(
            err(parse_document("<?xml version=\"1.0\"?><unknown/>")),
            (ErrorKind::Unexpected, 21)
        );
        assert_eq!(
            err(RecentConversations::parse(MBC_REQUEST)),
            (ErrorKind::Unexpected, 0)
        );
        assert_eq!(
            err(ThreadActivity::parse(USER_WEB)),
            (ErrorKind::Unexpected, 0)
        );
    }

    #[test]
    fn msgr_role_update_shapes() {
        let text = "<roleupdate><eventtime>5</eventtime><initiator>8:a</initiator><target><id>8:b</id><role>Admin</role></target></roleupdate>";
        let a = ThreadActivity::parse(text).unwrap();
        assert_eq!(
            a,
            ThreadActivity::RoleUpdate(RoleUpdate {
                event_time: 5,
                initiator: "8:a".into(),
                target: "8:b".into(),
                role: "Admin".into()
            })
        );
        assert_eq!(encoded(|o| a.encode(o)), text);
        let mri = text.replace("<id>8:b</id>", "<mri>8:b</mri>");
        assert_eq!(ThreadActivity::parse(&mri).unwrap(), a);
        let both = text.replace("<id>8:b</id>", "<id>8:b</id><mri>8:c</mri>");
        let at = both.find("<mri>").unwrap();
        assert_eq!(
            err(ThreadActivity::parse(&both)),
            (ErrorKind::Unexpected, at)
        );
        let no_role = "<roleupdate><eventtime>5</eventtime><initiator>8:a</initiator><target><mri>8:b</mri></target></roleupdate>";
        let at = no_role.find("</target>").unwrap();
        assert_eq!(
            err(ThreadActivity::parse(no_role)),
            (ErrorKind::Missing, at)
        );
    }

    #[test]
    fn msgr_hasmore_any_case_and_unknown_children() {
        let doc = |has_more: &str| {
            format!(
                "<messagesbyconversation-response><id>x</id><future a='1'><deep/></future><messages/><messagessyncstate>s</messagessyncstate><hasmore> {has_more} </hasmore></messagesbyconversation-response>"
            )
        };
        for (text, want) in [
            ("True", true),
            ("true", true),
            ("FALSE", false),
            ("false", false),
        ] {
            let text = doc(text);
            let r = MessagesByConversationResponse::parse(&text).unwrap();
            assert_eq!(r.has_more, want);
            assert!(r.messages.is_empty());
        }
        let bad = doc("yes");
        let at = bad.find("<hasmore>").unwrap() + "<hasmore>".len();
        assert_eq!(
            err(MessagesByConversationResponse::parse(&bad)),
            (ErrorKind::Unexpected, at)
        );
        let r = MessagesByConversationResponse {
            id: "x".into(),
            messages: vec![],
            messages_sync_state: "s".into(),
            has_more: true,
        };
        assert!(encoded(|o| r.encode(o)).contains("<hasmore>True</hasmore>"));
    }

    #[test]
    fn msgr_lenient_unescaped_content() {
        // Seed 000 as the wiki renders it: markup inside <content>.
        let raw = RECENT_RESPONSE
            .replace(
                "hi there! &lt;ss type=\"smile\"&gt;:)&lt;/ss&gt;",
                "hi there! <ss type=\"smile\">:)</ss>",
            )
            .replace("&lt;", "<")
            .replace("&gt;", ">");
        let at = raw.find("<ss").unwrap();
        assert_eq!(
            err(RecentConversationsResponse::parse(&raw)),
            (ErrorKind::Unexpected, at)
        );
        let lenient = RecentConversationsResponse::parse_with(&raw, &Limits::lenient()).unwrap();
        assert_eq!(
            lenient,
            RecentConversationsResponse::parse(RECENT_RESPONSE).unwrap()
        );
        // Encoding always escapes.
        let out = encoded(|o| lenient.encode(o));
        assert!(
            out.contains("<content>hi there! &lt;ss type=\"smile\"&gt;:)&lt;/ss&gt;</content>")
        );

        // `<content><hellooo></content>` as rendered is not well-formed even leniently.
        let raw = MBC_RESPONSE.replace("&lt;hellooo&gt;", "<hellooo>");
        let at = raw.find("</content>").unwrap();
        assert_eq!(
            err(MessagesByConversationResponse::parse_with(
                &raw,
                &Limits::lenient()
            )),
            (ErrorKind::Xml, at)
        );
    }

    macro_rules! reject {
        ($name:ident, $parse:expr, $text:expr, $kind:ident, $offset:expr) => {
            #[test]
            fn $name() {
                assert_eq!(err($parse($text)), (ErrorKind::$kind, $offset));
            }
        };
    }

    reject!(
        msgr_missing_pagesize,
        RecentConversations::parse,
        "<recentconversations><start>1</start></recentconversations>",
        Missing,
        37
    );
    reject!(
        msgr_missing_in_empty_root,
        RecentConversations::parse,
        "<recentconversations />",
        Missing,
        0
    );
    reject!(
        msgr_start_not_number,
        RecentConversations::parse,
        "<recentconversations><start>12a</start><pagesize>1</pagesize></recentconversations>",
        Unexpected,
        28
    );
    reject!(
        msgr_pagesize_overflow,
        RecentConversations::parse,
        "<recentconversations><start>1</start><pagesize>4294967296</pagesize></recentconversations>",
        Unexpected,
        47
    );
    reject!(
        msgr_duplicate_start,
        RecentConversations::parse,
        "<recentconversations><start>1</start><start>2</start><pagesize>1</pagesize></recentconversations>",
        Unexpected,
        37
    );
    reject!(
        msgr_messageid_not_number,
        MessagesByConversationResponse::parse,
        "<messagesbyconversation-response><id>x</id><messages><message><messageid>-1</messageid></message></messages></messagesbyconversation-response>",
        Unexpected,
        73
    );
    reject!(
        msgr_message_missing_content,
        MessagesByConversationResponse::parse,
        "<messagesbyconversation-response><id>x</id><messages><message><messageid>1</messageid><originalarrivaltime>t</originalarrivaltime><from>f</from><messagetype>Text</messagetype><composetime>t</composetime></message></messages></messagesbyconversation-response>",
        Missing,
        203
    );
    reject!(
        msgr_missing_hasmore,
        MessagesByConversationResponse::parse,
        "<messagesbyconversation-response><id>x</id><messages/><messagessyncstate/></messagesbyconversation-response>",
        Missing,
        74
    );
    reject!(
        msgr_trailing_root,
        RecentConversations::parse,
        "<recentconversations><start>1</start><pagesize>1</pagesize></recentconversations>\n<x/>",
        TrailingData,
        82
    );
    reject!(
        msgr_not_well_formed,
        RecentConversations::parse,
        "<recentconversations><start>1</pagesize></recentconversations>",
        Xml,
        29
    );
    reject!(
        msgr_unclosed,
        RecentConversations::parse,
        "<recentconversations><start>1</start>",
        Xml,
        37
    );
    reject!(
        msgr_text_among_elements,
        User::parse,
        "<user>hello<uic>u</uic></user>",
        Unexpected,
        6
    );
    reject!(msgr_empty_document, parse_document, "  ", Missing, 2);

    #[test]
    fn msgr_limits() {
        let small = Limits {
            max_len: 20,
            ..Limits::default()
        };
        assert_eq!(
            err(RecentConversations::parse_with(RECENT_REQUEST, &small)),
            (ErrorKind::LimitExceeded, 20)
        );

        let two = Limits {
            max_messages: 1,
            ..Limits::default()
        };
        let at = MBC_RESPONSE.match_indices("<message>").nth(1).unwrap().0;
        assert_eq!(
            err(MessagesByConversationResponse::parse_with(
                MBC_RESPONSE,
                &two
            )),
            (ErrorKind::LimitExceeded, at)
        );

        let convs = Limits {
            max_conversations: 2,
            ..Limits::default()
        };
        let at = RECENT_RESPONSE
            .match_indices("<conversation>")
            .nth(2)
            .unwrap()
            .0;
        assert_eq!(
            err(RecentConversationsResponse::parse_with(
                RECENT_RESPONSE,
                &convs
            )),
            (ErrorKind::LimitExceeded, at)
        );

        // recentconversations-response > conversations > conversation > messages > message > content
        let shallow = Limits {
            max_depth: 5,
            ..Limits::default()
        };
        let at = RECENT_RESPONSE.find("<messageid>").unwrap();
        assert_eq!(
            err(RecentConversationsResponse::parse_with(
                RECENT_RESPONSE,
                &shallow
            )),
            (ErrorKind::LimitExceeded, at)
        );
        let deep_unknown = "<user><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x/></x></x></x></x></x></x></x></x></x></x></x></x></x></x></x></user>";
        assert_eq!(
            err(User::parse(deep_unknown)),
            (ErrorKind::LimitExceeded, 6 + 15 * 3)
        );
    }

    /// The curated corpus agrees with these decoders: `valid/` decodes and round-trips,
    /// `lenient/` decodes only leniently, `invalid/` fails as `invalid.tsv` says.
    #[test]
    fn msgr_corpus_agrees() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/msgr");
        let read = |sub: &str| {
            let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files
        };
        for path in read("valid") {
            let bytes = std::fs::read(&path).unwrap();
            let doc = parse_document_bytes(&bytes, &Limits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_round_trips(&doc);
        }
        for path in read("lenient") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                parse_document_bytes(&bytes, &Limits::default()).is_err(),
                "{}",
                path.display()
            );
            let doc = parse_document_bytes(&bytes, &Limits::lenient())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_round_trips(&doc);
        }
        let table = std::fs::read_to_string(dir.join("invalid.tsv")).unwrap();
        for row in table.lines().skip(1) {
            let cols: Vec<_> = row.split('\t').collect();
            let bytes = std::fs::read(dir.join("invalid").join(cols[0])).unwrap();
            let e = parse_document_bytes(&bytes, &Limits::lenient()).unwrap_err();
            let kind = serde_json::to_value(e.kind()).unwrap();
            assert_eq!(
                (kind.as_str().unwrap(), e.offset().to_string().as_str()),
                (cols[1], cols[2]),
                "{row}"
            );
        }
    }

    #[test]
    fn msgr_into_owned_outlives_input() {
        let owned = {
            let text = RECENT_RESPONSE.to_owned();
            parse_document(&text).unwrap().into_owned()
        };
        assert_eq!(owned, parse_document(RECENT_RESPONSE).unwrap());
    }

    /// Law 4: the document re-parses, from its encoding, to an equal value.
    fn assert_round_trips(doc: &Document<'_>) {
        let text = encoded(|o| doc.encode(o));
        let back = parse_document(&text).unwrap_or_else(|e| panic!("{e} in {text:?}"));
        assert_eq!(&back, doc, "{text}");
    }

    fn text() -> impl Strategy<Value = Cow<'static, str>> {
        "[a-zA-Z0-9 <>&\"';:@={}./\\-\r\n\t\u{e9}\u{263a}\u{1f600}]{0,12}".prop_map(Cow::Owned)
    }

    fn message() -> impl Strategy<Value = Message<'static>> {
        (
            any::<u64>(),
            text(),
            text(),
            text(),
            text(),
            proptest::option::of(text()),
            text(),
        )
            .prop_map(
                |(
                    message_id,
                    original_arrival_time,
                    from,
                    message_type,
                    content,
                    client_message_id,
                    compose_time,
                )| Message {
                    message_id,
                    original_arrival_time,
                    from,
                    message_type,
                    content,
                    client_message_id,
                    compose_time,
                },
            )
    }

    fn conversation() -> impl Strategy<Value = Conversation<'static>> {
        let thread = (any::<u64>(), any::<u64>(), proptest::option::of(text())).prop_map(
            |(last_join_at, version, topic)| Thread {
                last_join_at,
                version,
                topic,
            },
        );
        (
            text(),
            any::<u64>(),
            proptest::option::of(text().prop_map(ConsumptionHorizon)),
            proptest::collection::vec(message(), 0..3),
            proptest::option::of(thread),
        )
            .prop_map(|(id, version, consumption_horizon, messages, thread)| {
                Conversation {
                    id,
                    version,
                    consumption_horizon,
                    messages,
                    thread,
                }
            })
    }

    fn activity() -> impl Strategy<Value = ThreadActivity<'static>> {
        let change = || {
            (any::<u64>(), text(), text()).prop_map(|(event_time, initiator, target)| {
                MemberChange {
                    event_time,
                    initiator,
                    target,
                }
            })
        };
        prop_oneof![
            change().prop_map(ThreadActivity::AddMember),
            change().prop_map(ThreadActivity::DeleteMember),
            (any::<u64>(), text(), text()).prop_map(|(event_time, initiator, value)| {
                ThreadActivity::TopicUpdate(TopicUpdate {
                    event_time,
                    initiator,
                    value,
                })
            }),
            (any::<u64>(), text(), text(), text()).prop_map(
                |(event_time, initiator, target, role)| {
                    ThreadActivity::RoleUpdate(RoleUpdate {
                        event_time,
                        initiator,
                        target,
                        role,
                    })
                }
            ),
        ]
    }

    fn document() -> impl Strategy<Value = Document<'static>> {
        let opt = || proptest::option::of(text());
        prop_oneof![
            (any::<u64>(), any::<u32>(), opt()).prop_map(|(start, page_size, sync_state)| {
                Document::RecentConversations(RecentConversations {
                    start,
                    page_size,
                    sync_state,
                })
            }),
            (
                proptest::collection::vec(conversation(), 0..3),
                text(),
                any::<bool>()
            )
                .prop_map(|(conversations, sync_state, has_more)| {
                    Document::RecentConversationsResponse(RecentConversationsResponse {
                        conversations,
                        sync_state,
                        has_more,
                    })
                }),
            (text(), any::<u64>(), opt(), any::<u32>()).prop_map(
                |(id, start, messages_sync_state, page_size)| {
                    Document::MessagesByConversation(MessagesByConversation {
                        id,
                        start,
                        messages_sync_state,
                        page_size,
                    })
                }
            ),
            (
                text(),
                proptest::collection::vec(message(), 0..4),
                text(),
                any::<bool>()
            )
                .prop_map(|(id, messages, messages_sync_state, has_more)| {
                    Document::MessagesByConversationResponse(MessagesByConversationResponse {
                        id,
                        messages,
                        messages_sync_state,
                        has_more,
                    })
                }),
            activity().prop_map(Document::ThreadActivity),
            (opt(), opt(), opt(), opt(), opt()).prop_map(
                |(ssl_compact_ticket, uic, id, alias, web_compact_ticket)| {
                    Document::User(User {
                        ssl_compact_ticket,
                        uic,
                        id,
                        alias,
                        web_compact_ticket,
                    })
                }
            ),
            (
                any::<u32>(),
                proptest::option::of((opt(), opt(), opt(), opt()))
            )
                .prop_map(|(ver, agent)| {
                    Document::Connect(Connect {
                        ver,
                        agent: agent.map(|(os, os_ver, processor, lcid)| Agent {
                            os,
                            os_ver,
                            processor,
                            lcid,
                        }),
                    })
                }),
        ]
    }

    proptest! {
        #[test]
        fn msgr_round_trip(doc in document()) {
            let mut out = Vec::new();
            doc.encode(&mut out);
            let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back = parse_document(&text).map_err(|e| TestCaseError::fail(format!("{e} in {text:?}")))?;
            prop_assert_eq!(&back, &doc, "{}", text);
            // The typed entry point agrees with the dispatcher, and leniency changes nothing
            // for escaped documents.
            prop_assert_eq!(parse_document_with(&text, &Limits::lenient()), Ok(back));
        }

        #[test]
        fn msgr_activity_in_message_content(activity in activity()) {
            let mut content = Vec::new();
            activity.encode(&mut content);
            let content = String::from_utf8(content).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let m = Message {
                message_id: 1,
                original_arrival_time: "t".into(),
                from: THREAD.into(),
                message_type: "ThreadActivity/X".into(),
                content: content.into(),
                client_message_id: None,
                compose_time: "t".into(),
            };
            let r = MessagesByConversationResponse { id: THREAD.into(), messages: vec![m], messages_sync_state: "s".into(), has_more: false };
            let mut out = Vec::new();
            r.encode(&mut out);
            let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back = MessagesByConversationResponse::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back.messages[0].thread_activity(), Some(Ok(activity)));
        }

        #[test]
        fn msgr_parse_never_panics(text in "[<>/a-z &;#x0-9\"'=!?\\-]{0,64}") {
            let _ = parse_document_with(&text, &Limits::lenient());
        }
    }
}
