//! Typed XML payload bodies of MSNP 21–24: the `MSGR\…` history-sync documents, the
//! ThreadActivity documents inside group-chat messages, the `CON` login bodies, and the
//! contact list and group thread of `PUT MSGR\CONTACTS` and `PUT MSGR\THREAD`.
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
//!
//! One file per document family: `history.rs` (the `MSGR\…` history-sync documents),
//! `thread_activity.rs` (ThreadActivity), `login.rs` (the `CON` bodies, `<wait>` included) and `lists.rs` (the
//! contact list and group thread an endpoint puts after binding); this
//! file holds the [`Document`] dispatch, the [`Limits`] and the reading helpers they share.

use std::borrow::Cow;

use crate::scan;
use crate::xml::{self, Element, Reader};
use crate::{Error, ErrorKind};

mod codec;
mod history;
mod lists;
mod login;
mod thread_activity;

pub use codec::Msgr;
pub use history::{
    ConsumptionHorizon, Conversation, Message, MessagesByConversation,
    MessagesByConversationResponse, RecentConversations, RecentConversationsResponse, Thread,
};
pub use lists::{Contact, ContactList, ContactService, GroupMember, GroupThread};
pub use login::{Agent, Bind, Connect, User, Wait};
pub use thread_activity::{MemberChange, RoleUpdate, ThreadActivity, TopicUpdate};

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
    /// Most list entries in one document: `<c>` contacts of an `<ml>`, `<member>`s of a
    /// `<thread>`.
    pub max_entries: usize,
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
            max_entries: 1000,
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
    /// `<msgr>` (`BND … CON\MSGR`).
    Bind(Bind<'a>),
    /// `<connect>` (`CNT … CON`).
    Connect(Connect<'a>),
    /// `<ml>` (`PUT … MSGR\CONTACTS`).
    ContactList(ContactList<'a>),
    /// `<thread>` (`PUT`/`DEL … MSGR\THREAD`).
    GroupThread(GroupThread<'a>),
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
    /// `<wait>` (the reply to `PNG … CON`).
    Wait(Wait),
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
        "msgr" => Document::Bind(Bind::read(&mut d, &root)?),
        "ml" => Document::ContactList(ContactList::read(&mut d, &root)?),
        "thread" => Document::GroupThread(GroupThread::read(&mut d, &root)?),
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
        "wait" => Document::Wait(Wait::read(&mut d, &root)?),
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
            Self::Bind(_) => "msgr",
            Self::Connect(_) => "connect",
            Self::ContactList(_) => "ml",
            Self::GroupThread(_) => "thread",
            Self::MessagesByConversation(_) => "messagesbyconversation",
            Self::MessagesByConversationResponse(_) => "messagesbyconversation-response",
            Self::RecentConversations(_) => "recentconversations",
            Self::RecentConversationsResponse(_) => "recentconversations-response",
            Self::ThreadActivity(a) => a.root_name(),
            Self::User(_) => "user",
            Self::Wait(_) => "wait",
        }
    }

    /// Appends the document's XML.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Bind(d) => d.encode(out),
            Self::Connect(d) => d.encode(out),
            Self::ContactList(d) => d.encode(out),
            Self::GroupThread(d) => d.encode(out),
            Self::MessagesByConversation(d) => d.encode(out),
            Self::MessagesByConversationResponse(d) => d.encode(out),
            Self::RecentConversations(d) => d.encode(out),
            Self::RecentConversationsResponse(d) => d.encode(out),
            Self::ThreadActivity(d) => d.encode(out),
            Self::User(d) => d.encode(out),
            Self::Wait(d) => d.encode(out),
        }
    }

    /// Detaches the document from its input.
    pub fn into_owned(self) -> Document<'static> {
        match self {
            Self::Bind(d) => Document::Bind(d.into_owned()),
            Self::Connect(d) => Document::Connect(d.into_owned()),
            Self::ContactList(d) => Document::ContactList(d.into_owned()),
            Self::GroupThread(d) => Document::GroupThread(d.into_owned()),
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
            Self::Wait(d) => Document::Wait(d),
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
    entries: usize,
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
            entries: 0,
        })
    }

    /// The next child element of `parent` ([`Reader::next_child`]), built in `slot` (one per
    /// loop, owned by the caller) rather than moved through return values.
    fn child<'s>(
        &mut self,
        parent: &Element<'a>,
        slot: &'s mut Option<Element<'a>>,
    ) -> Result<Option<&'s Element<'a>>, Error> {
        self.r.next_child_into(parent, slot)?;
        Ok(slot.as_ref())
    }

    /// `<messages>`: the `<message>` children, other children skipped.
    fn messages(&mut self, el: &Element<'a>) -> Result<Vec<Message<'a>>, Error> {
        let (mut list, mut slot) = (Vec::new(), None);
        while let Some(m) = self.child(el, &mut slot)? {
            if m.name() != "message" {
                self.r.skip(m)?;
                continue;
            }
            self.messages += 1;
            if self.messages > self.limits.max_messages {
                return Err(limit_exceeded(m.offset()));
            }
            list.push(Message::read(self, m)?);
        }
        Ok(list)
    }

    fn count_conversation(&mut self, el: &Element<'a>) -> Result<(), Error> {
        self.conversations += 1;
        if self.conversations > self.limits.max_conversations {
            return Err(limit_exceeded(el.offset()));
        }
        Ok(())
    }

    fn count_entry(&mut self, el: &Element<'a>) -> Result<(), Error> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(limit_exceeded(el.offset()));
        }
        Ok(())
    }

    /// An element whose text is a decimal number of type `T`.
    fn number<T: TryFrom<u64>>(&mut self, el: &Element<'a>) -> Result<T, Error> {
        let n = self.decimal(el)?;
        T::try_from(n).map_err(|_| unexpected(el.content_offset()))
    }

    /// An element whose text is a decimal number that fits a `u64`: the one copy of the
    /// number reading behind [`number`](Self::number)'s instances.
    #[inline(never)]
    fn decimal(&mut self, el: &Element<'a>) -> Result<u64, Error> {
        let text = self.r.text(el)?;
        scan::decimal(xml::trim(&text).as_bytes(), 20)
            .ok_or_else(|| unexpected(el.content_offset()))
    }

    /// Reads `el`'s text into `slot`, a child that may appear once (see [`put`]).
    fn text_once(
        &mut self,
        slot: &mut Option<Cow<'a, str>>,
        el: &Element<'a>,
    ) -> Result<(), Error> {
        self.content_once(slot, el, false)
    }

    /// Reads `el`'s text, or its verbatim content if it has child elements and `allow_markup`
    /// is set ([`Reader::text_or_markup`]), into `slot`, a child that may appear once. Out of
    /// line so that each text field of each document is one call to the same code.
    #[inline(never)]
    fn content_once(
        &mut self,
        slot: &mut Option<Cow<'a, str>>,
        el: &Element<'a>,
        allow_markup: bool,
    ) -> Result<(), Error> {
        let text = self.r.text_or_markup(el, allow_markup)?;
        put(slot, text, el)
    }

    /// Reads `el`'s decimal `u64` into `slot`, a child that may appear once.
    #[inline(never)]
    fn u64_once(&mut self, slot: &mut Option<u64>, el: &Element<'a>) -> Result<(), Error> {
        let n = self.decimal(el)?;
        put(slot, n, el)
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
            Err(unexpected(el.content_offset()))
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
#[inline]
fn put<T>(slot: &mut Option<T>, value: T, el: &Element<'_>) -> Result<(), Error> {
    if slot.is_some() {
        return Err(unexpected(el.offset()));
    }
    *slot = Some(value);
    Ok(())
}

/// A required child's value, or `Missing` at `end` (the parent's end tag).
#[inline]
fn need<T>(slot: Option<T>, end: usize) -> Result<T, Error> {
    slot.ok_or_else(|| missing(end))
}

// The errors are built out of line and marked cold, so that the decoders' hot paths stay
// short and their error branches are laid out away from them.

/// [`ErrorKind::Unexpected`] at `at`.
#[cold]
#[inline(never)]
fn unexpected(at: usize) -> Error {
    Error::new(ErrorKind::Unexpected, at)
}

/// [`ErrorKind::Missing`] at `at`.
#[cold]
#[inline(never)]
fn missing(at: usize) -> Error {
    Error::new(ErrorKind::Missing, at)
}

/// [`ErrorKind::LimitExceeded`] at `at`.
#[cold]
#[inline(never)]
fn limit_exceeded(at: usize) -> Error {
    Error::new(ErrorKind::LimitExceeded, at)
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
mod tests;
