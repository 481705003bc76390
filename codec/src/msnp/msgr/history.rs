//! The `MSGR\…` history-sync documents (seed 000, `docs/protocols/msnp.md` §5): the
//! `RECENTCONVERSATIONS` and `MESSAGESBYCONVERSATION` requests and responses, with their
//! conversations, threads and `<message>`s.

use std::borrow::Cow;

use super::{
    Decoder, Limits, ThreadActivity, bool_element, encode_messages, need, number_element, own,
    parse_root, put,
};
use crate::Error;
use crate::scan;
use crate::xml::{self, Element};

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

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut start, mut page_size, mut sync_state) = (None, None, None);
        let mut slot = None;
        while let Some(c) = d.child(el, &mut slot)? {
            match c.name() {
                "start" => d.u64_once(&mut start, c)?,
                "pagesize" => put(&mut page_size, d.number(c)?, c)?,
                "syncstate" => d.text_once(&mut sync_state, c)?,
                _ => d.r.skip(c)?,
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

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut conversations, mut sync_state, mut has_more) = (None, None, None);
        let mut slot = None;
        while let Some(c) = d.child(el, &mut slot)? {
            match c.name() {
                "conversations" => {
                    let (mut list, mut conv_slot) = (Vec::new(), None);
                    while let Some(conv) = d.child(c, &mut conv_slot)? {
                        if conv.name() == "conversation" {
                            d.count_conversation(conv)?;
                            list.push(Conversation::read(d, conv)?);
                        } else {
                            d.r.skip(conv)?;
                        }
                    }
                    put(&mut conversations, list, c)?;
                }
                "syncstate" => d.text_once(&mut sync_state, c)?,
                "hasmore" => put(&mut has_more, d.boolean(c)?, c)?,
                _ => d.r.skip(c)?,
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
    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut version, mut properties, mut messages, mut thread) =
            (None, None, None, None, None);
        let mut slot = None;
        while let Some(c) = d.child(el, &mut slot)? {
            match c.name() {
                "id" => d.text_once(&mut id, c)?,
                "version" => d.u64_once(&mut version, c)?,
                "properties" => {
                    let (mut horizon, mut p_slot) = (None, None);
                    while let Some(p) = d.child(c, &mut p_slot)? {
                        if p.name() == "consumptionhorizon" {
                            put(&mut horizon, ConsumptionHorizon(d.r.text(p)?), p)?;
                        } else {
                            d.r.skip(p)?;
                        }
                    }
                    put(&mut properties, horizon, c)?;
                }
                "messages" => put(&mut messages, d.messages(c)?, c)?,
                "thread" => put(&mut thread, Thread::read(d, c)?, c)?,
                _ => d.r.skip(c)?,
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
    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut last_join_at, mut version, mut topic) = (None, None, None);
        let mut slot = None;
        while let Some(c) = d.child(el, &mut slot)? {
            match c.name() {
                "lastjoinat" => d.u64_once(&mut last_join_at, c)?,
                "version" => d.u64_once(&mut version, c)?,
                "topic" => d.text_once(&mut topic, c)?,
                _ => d.r.skip(c)?,
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

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut start, mut sync, mut page_size) = (None, None, None, None);
        let mut slot = None;
        while let Some(c) = d.child(el, &mut slot)? {
            match c.name() {
                "id" => d.text_once(&mut id, c)?,
                "start" => d.u64_once(&mut start, c)?,
                "messagessyncstate" => d.text_once(&mut sync, c)?,
                "pagesize" => put(&mut page_size, d.number(c)?, c)?,
                _ => d.r.skip(c)?,
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

    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut messages, mut sync, mut has_more) = (None, None, None, None);
        let mut slot = None;
        while let Some(c) = d.child(el, &mut slot)? {
            match c.name() {
                "id" => d.text_once(&mut id, c)?,
                "messages" => put(&mut messages, d.messages(c)?, c)?,
                "messagessyncstate" => d.text_once(&mut sync, c)?,
                "hasmore" => put(&mut has_more, d.boolean(c)?, c)?,
                _ => d.r.skip(c)?,
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
    pub(super) fn read(d: &mut Decoder<'a, '_>, el: &Element<'a>) -> Result<Self, Error> {
        let (mut id, mut arrival, mut from, mut kind, mut content, mut client_id, mut compose) =
            (None, None, None, None, None, None, None);
        let allow_markup = d.limits.allow_markup_in_content;
        let mut slot = None;
        while let Some(c) = d.child(el, &mut slot)? {
            match c.name() {
                "messageid" => d.u64_once(&mut id, c)?,
                "originalarrivaltime" => d.text_once(&mut arrival, c)?,
                "from" => d.text_once(&mut from, c)?,
                "messagetype" => d.text_once(&mut kind, c)?,
                "content" => d.content_once(&mut content, c, allow_markup)?,
                "clientmessageid" => d.text_once(&mut client_id, c)?,
                "composetime" => d.text_once(&mut compose, c)?,
                _ => d.r.skip(c)?,
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
