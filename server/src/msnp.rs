//! The MSNP24 notification server, sans-IO (docs/protocols/msnp.md): login (`CNT`, `ATH`, `BND`),
//! `PUT`, `SDG` delivery with durable history, `ACK`, `PNG`, `OUT`, and the MSGR history sync
//! `GET MSGR\RECENTCONVERSATIONS` / `GET MSGR\MESSAGESBYCONVERSATION`.
//!
//! Like [`super::fetion`], a [`Hub`] takes [`Event`]s with the current time and yields
//! [`Output`]s. History goes to a [`Store`] synchronously: a message is committed before the
//! `SDG` reply that acknowledges it is queued.
//!
//! # Behaviour and the choices made where the sources are silent
//!
//! * Every server line has the four-token MSNP24 shape `VERB TrID TARGET LEN`; replies reuse
//!   the request's TrID and carry the bare scope (`GET 12 MSGR …`); pushes carry the full
//!   target and TrID 0 (`SDG 0 MSGR …`, `NFY 0 MSGR\PUT …`). Payloads are outer headers, a
//!   blank line and a body.
//! * `CNT` → `CNT t CON` with `<connect-response><ver>2</ver><nonce>…</nonce></connect-response>`
//!   (the root element is unknown; clients read only `<nonce>`).
//! * `ATH t CON\USER` with `<user><ssl-compact-ticket>t=<password></ssl-compact-ticket>…<id>NAME</id></user>`
//!   ([`crate::accounts::Accounts::check_msnp_ticket`]) → `ATH t CON` with
//!   `<ath-response><mri>8:NAME</mri></ath-response>` (invented body; the user's mri is
//!   `8:NAME`, or NAME itself when it already has a net id such as `1:` or `8:`).
//!   Anything else → `911 t CON` (authentication failed).
//! * `BND t CON\MSGR` → `BND t CON` with outer header `Set-Registration: <token>`. From then
//!   on every command with a non-empty payload must carry `Registration: <token>`; missing or
//!   wrong → `911`. `PNG`, `OUT` and `CNT` are exempt (JSK pings with a bare blank line). Commands that need a login before `BND` → `911`.
//! * `PUT MSGR\<anything>` → `PUT t MSGR` with an empty payload (`\r\n`).
//!   `PUT MSGR\CONTACTS` (`<ml><skp><c n="name" t="8">`) records whose presence the endpoint
//!   follows; `PUT MSGR\PRESENCE` (layered) is pushed as `NFY 0 MSGR\PUT` to the sender's
//!   other endpoints and to endpoints that listed the sender. `PUT MSGR\THREAD`
//!   with `<thread><id>19:…</id><members><member><mri>8:x</mri>…` creates a group thread (the
//!   sender is always a member); changing a thread one is not a member of → `201`.
//! * `SDG t MSGR` with a layered payload: `From` must be the sender (else `201`), `To` a
//!   one-to-one peer (`8:`, `1:`, …) or a thread the sender belongs to (else `201`).
//!   Messages other than `Control/*` are stored (committed) with a server id that increases
//!   strictly, then pushed as `SDG 0 MSGR` (the layered message as received, empty outer
//!   headers) to every other bound endpoint of the recipients and of the sender, then the
//!   sender gets `SDG t MSGR` with `<sdg-response><messageid>ID</messageid></sdg-response>`
//!   (invented body). A recipient offline simply finds the message in history: that is how
//!   MSNP24 clients fetch offline messages (seed 000).
//! * `ACK` is accepted without a reply (it answers a push; nothing answers an answer).
//! * `PNG t CON` → `PNG t CON` with `<wait>50</wait>`; a `PNG t CON 0` without payload is
//!   accepted too (MIR quirk, §1.2).
//! * `OUT` → `OUT t CON 0`, then the connection closes.
//! * `GET MSGR\MESSAGESBYCONVERSATION`: newest first, `pagesize` per page (1..=1000, else
//!   `201`), `messagessyncstate` is an opaque hex cursor that resumes right below the last
//!   message of the previous page, `hasmore` `True`/`False`. For a `19:` thread the asker must
//!   be a member, else `201`; a one-to-one conversation is always the asker's own.
//!   `GET MSGR\RECENTCONVERSATIONS`: one newest message per conversation, conversations
//!   newest first, paged by `<syncstate>` likewise.
//! * Unknown verb → `200` (invalid syntax); unknown target or an unparsable body → `201`
//!   (invalid parameter); a storage failure → `500`. Errors are `NNN t SCOPE LEN` with a
//!   payload `\r\n<error><code>NNN</code><description>…</description></error>`.
//! * A command line that cannot be parsed (bad verb, length, TrID, or over the limits) gets
//!   `200 <trid or 0> CON` and the connection closes: without a trusted length the stream
//!   cannot be resynchronised (NINA "Payload Commands").

use std::collections::{HashMap, VecDeque};

use imspec_codec::Status;
use imspec_codec::msnp::msgr::{
    self, Conversation, MessagesByConversation, MessagesByConversationResponse,
    RecentConversations, RecentConversationsResponse,
};
use imspec_codec::msnp::payload::{Layered, Payload};
use imspec_codec::msnp::{self, Command, Limits};

use super::rng::Rng;
use super::store::{Store, StoreError, Stored};
use super::{ConnId, Event, Mutant, Output};
use crate::accounts::Accounts;
use imspec_codec::date::format_iso8601_ms;

/// The `<wait>` a `PNG` reply carries (seconds).
pub const PING_WAIT: u32 = 50;
/// The largest `pagesize` accepted.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Configuration of a [`Hub`]; the default has open accounts, no mutant, seed 0.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Who may log in.
    pub accounts: Accounts,
    /// The rule to break, if any.
    pub mutant: Option<Mutant>,
    /// Seed for nonces and registration tokens.
    pub seed: u64,
    /// Framing bounds.
    pub limits: Limits,
}

/// The state of the MSNP notification server.
#[derive(Debug)]
pub struct Hub {
    config: Config,
    rng: Rng,
    store: Store,
    conns: HashMap<ConnId, Conn>,
    out: VecDeque<Output>,
}

#[derive(Debug, Default)]
struct Conn {
    buf: Vec<u8>,
    /// The bare mri after `ATH`.
    mri: Option<String>,
    /// The registration token after `BND`.
    registration: Option<String>,
    epid: Option<String>,
    /// Mris from `PUT MSGR\CONTACTS`: whose presence this endpoint is told about.
    contacts: Vec<String>,
}

/// A failed command: the error code and a description for the payload.
struct Refusal(u16, &'static str);

impl From<StoreError> for Refusal {
    fn from(_: StoreError) -> Self {
        Self(500, "internal server error")
    }
}

impl Hub {
    /// A server with no connections, keeping history in `store`.
    pub fn new(config: Config, store: Store) -> Self {
        Self {
            rng: Rng::new(config.seed),
            config,
            store,
            conns: HashMap::new(),
            out: VecDeque::new(),
        }
    }

    /// Feeds one event for `conn` at time `now_ms` (Unix milliseconds).
    pub fn handle(&mut self, now_ms: u64, conn: ConnId, event: Event<'_>) {
        match event {
            Event::Connected(_) => {
                self.conns.insert(conn, Conn::default());
            }
            Event::Data(bytes) => self.on_data(now_ms, conn, bytes),
            Event::Closed => {
                self.conns.remove(&conn);
            }
        }
    }

    /// The next thing the driver must do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The MSNP server has no timers.
    pub fn poll_timeout(&self) -> Option<u64> {
        None
    }

    /// Nothing expires in the MSNP server.
    pub fn handle_timeout(&mut self, _now_ms: u64) {}

    /// How many connections are open.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    fn on_data(&mut self, now_ms: u64, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.buf.extend_from_slice(bytes);
        let mut buf = std::mem::take(&mut c.buf);
        let limits = self.config.limits;
        let mut used = 0;
        while used < buf.len() {
            let rest = buf.get(used..).unwrap_or_default();
            match msnp::parse_with(rest, &limits) {
                Ok(Status::Complete((cmd, n))) => {
                    used += n;
                    self.on_command(now_ms, conn, &cmd);
                }
                Ok(Status::Incomplete(_)) => break,
                Err(_) => {
                    // The TrID, if the line has one where it belongs.
                    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
                    let trid = line
                        .split(|&b| b == b' ')
                        .nth(1)
                        .and_then(|t| std::str::from_utf8(t).ok())
                        .and_then(|t| t.parse::<u32>().ok())
                        .unwrap_or(0);
                    self.send_error(conn, 200, trid, "CON", "invalid syntax");
                    self.close(conn);
                    return;
                }
            }
            if !self.conns.contains_key(&conn) {
                return;
            }
        }
        buf.drain(..used.min(buf.len()));
        if let Some(c) = self.conns.get_mut(&conn) {
            c.buf = buf;
        }
    }

    fn on_command(&mut self, now_ms: u64, conn: ConnId, cmd: &Command<'_>) {
        let trid = cmd.trid.unwrap_or(0);
        let scope = self.reply_target(cmd);
        let target = cmd
            .target
            .as_deref()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if let Err(Refusal(code, text)) = self.check_registration(conn, cmd) {
            return self.send_error(conn, code, trid, &scope, text);
        }
        let result = match (cmd.verb.as_ref(), target.as_str()) {
            ("CNT", _) => {
                let nonce = self.rng.hex(16);
                let body = format!(
                    "<connect-response><ver>2</ver><nonce>{nonce}</nonce></connect-response>"
                );
                self.reply(conn, cmd, &[], body.as_bytes());
                Ok(())
            }
            ("ATH", _) => self.ath(conn, cmd),
            ("BND", _) => self.bnd(conn, cmd),
            ("PNG", _) => {
                let mut body = Vec::new();
                if !self.mutant(Mutant::MsnpPngNoWait) {
                    msgr::Wait { seconds: PING_WAIT }.encode(&mut body);
                }
                self.reply(conn, cmd, &[], &body);
                Ok(())
            }
            ("OUT", _) => {
                self.send_line(conn, "OUT", self.trid(trid), &scope, &[]);
                self.close(conn);
                Ok(())
            }
            ("ACK", _) => self.bound(conn).map(|_| ()),
            ("PUT", "MSGR\\THREAD") => self.put_thread(conn, cmd),
            ("PUT", "MSGR\\CONTACTS") => self.put_contacts(conn, cmd),
            ("PUT", "MSGR\\PRESENCE") => self.put_presence(conn, cmd),
            ("PUT", t) if t.starts_with("MSGR\\") => {
                self.bound(conn).map(|_| self.reply(conn, cmd, &[], b""))
            }
            ("SDG", "MSGR") => self.sdg(now_ms, conn, cmd),
            ("GET", "MSGR\\MESSAGESBYCONVERSATION") => self.messages_by_conversation(conn, cmd),
            ("GET", "MSGR\\RECENTCONVERSATIONS") => self.recent_conversations(conn, cmd),
            ("PUT" | "SDG" | "GET" | "DEL", _) => Err(Refusal(201, "invalid parameter")),
            _ => Err(Refusal(200, "invalid syntax")),
        };
        if let Err(Refusal(code, text)) = result {
            self.send_error(conn, code, trid, &scope, text);
        }
    }

    /// After `BND`, a non-empty payload must carry the current `Registration`.
    fn check_registration(&self, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        let Some(reg) = self
            .conns
            .get(&conn)
            .and_then(|c| c.registration.as_deref())
        else {
            return Ok(());
        };
        if cmd.payload.is_empty()
            || matches!(cmd.verb.as_ref(), "OUT" | "PNG" | "CNT")
            || self.mutant(Mutant::MsnpRegistrationNotEnforced)
        {
            return Ok(());
        }
        let given = Payload::parse(&cmd.payload)
            .ok()
            .and_then(|p| p.headers.get("Registration").map(|r| r.trim() == reg));
        if given == Some(true) {
            Ok(())
        } else {
            Err(Refusal(911, "registration missing or wrong"))
        }
    }

    fn ath(&mut self, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        let body = body_text(cmd);
        let user = msgr::User::parse(&body).map_err(|_| Refusal(911, "authentication failed"))?;
        let (Some(id), Some(ticket)) = (user.id, user.ssl_compact_ticket) else {
            return Err(Refusal(911, "authentication failed"));
        };
        let name = id.trim();
        let account = name
            .split_once(':')
            .filter(|(net, _)| net.bytes().all(|b| b.is_ascii_digit()))
            .map_or(name, |(_, n)| n);
        if account.is_empty() || !self.config.accounts.check_msnp_ticket(account, &ticket) {
            return Err(Refusal(911, "authentication failed"));
        }
        let mri = if account == name {
            format!("8:{name}")
        } else {
            name.to_owned()
        };
        let mut body = Vec::new();
        imspec_codec::xml::start_tag(&mut body, "ath-response");
        imspec_codec::xml::text_element(&mut body, "mri", &mri);
        imspec_codec::xml::end_tag(&mut body, "ath-response");
        if let Some(c) = self.conns.get_mut(&conn) {
            c.mri = Some(mri);
        }
        self.reply(conn, cmd, &[], &body);
        Ok(())
    }

    fn bnd(&mut self, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        if self.conns.get(&conn).and_then(|c| c.mri.as_ref()).is_none() {
            return Err(Refusal(911, "not authenticated"));
        }
        // A body that is not a `<msgr>` document binds without an endpoint id.
        let epid = msgr::Bind::parse(&body_text(cmd))
            .ok()
            .and_then(|b| b.epid)
            .map(|e| e.into_owned());
        let reg = self.rng.hex(16);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.registration = Some(reg.clone());
            c.epid = epid;
        }
        if self.mutant(Mutant::MsnpNoSetRegistration) {
            self.reply(conn, cmd, &[], b"");
        } else {
            self.reply(conn, cmd, &[("Set-Registration", &reg)], b"");
        }
        Ok(())
    }

    fn bound(&self, conn: ConnId) -> Result<String, Refusal> {
        let c = self
            .conns
            .get(&conn)
            .ok_or(Refusal(911, "not authenticated"))?;
        match (&c.mri, &c.registration) {
            (Some(mri), Some(_)) => Ok(mri.clone()),
            _ => Err(Refusal(911, "not authenticated")),
        }
    }

    /// `<ml><skp><c n="name" t="8">…`: remembers `8:name` as a contact of this endpoint.
    fn put_contacts(&mut self, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        self.bound(conn)?;
        let body = body_text(cmd);
        let list =
            msgr::ContactList::parse(&body).map_err(|_| Refusal(201, "invalid contact list"))?;
        let found: Vec<String> = list.contacts.iter().map(msgr::Contact::mri).collect();
        if let Some(c) = self.conns.get_mut(&conn) {
            for m in found {
                if !c.contacts.contains(&m) {
                    c.contacts.push(m);
                }
            }
        }
        self.reply(conn, cmd, &[], b"");
        Ok(())
    }

    /// A layered presence document: answered, then pushed as `NFY 0 MSGR\PUT` to the
    /// sender's other endpoints and to endpoints that listed the sender as a contact.
    fn put_presence(&mut self, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        let me = self.bound(conn)?;
        // A plain (not layered) presence document is accepted without notifications.
        let Ok(layered) = Layered::parse(&cmd.payload) else {
            self.reply(conn, cmd, &[], b"");
            return Ok(());
        };
        let mut push = b"\r\n".to_vec();
        let mut inner = layered;
        inner.outer = None;
        inner.encode(&mut push);
        let targets: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(id, c)| {
                **id != conn
                    && c.registration.is_some()
                    && (c.mri.as_deref() == Some(me.as_str()) || c.contacts.contains(&me))
            })
            .map(|(id, _)| *id)
            .collect();
        self.reply(conn, cmd, &[], b"");
        for t in targets {
            self.send_line(t, "NFY", 0, "MSGR\\PUT", &push);
        }
        Ok(())
    }

    fn put_thread(&mut self, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        let me = self.bound(conn)?;
        let body = body_text(cmd);
        let thread =
            msgr::GroupThread::parse(&body).map_err(|_| Refusal(201, "invalid parameter"))?;
        let id = thread.id.as_ref();
        if !id.starts_with("19:") {
            return Err(Refusal(201, "invalid parameter"));
        }
        if let Some(members) = self.store.thread(id)?
            && !members.contains(&me)
        {
            return Err(Refusal(201, "not a member of the thread"));
        }
        let mut members = vec![me];
        for m in &thread.members {
            let m = bare(&m.mri).to_owned();
            if !members.contains(&m) {
                members.push(m);
            }
        }
        self.store.set_thread(id, &members)?;
        self.reply(conn, cmd, &[], b"");
        Ok(())
    }

    fn sdg(&mut self, now_ms: u64, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        let me = self.bound(conn)?;
        let layered =
            Layered::parse(&cmd.payload).map_err(|_| Refusal(201, "invalid layered payload"))?;
        let from = layered.from().unwrap_or_default().trim().to_owned();
        if bare(&from) != me {
            return Err(Refusal(201, "From is not the sender"));
        }
        let to = bare(layered.to().unwrap_or_default()).to_owned();
        if to.is_empty() || !to.contains(':') {
            return Err(Refusal(201, "invalid recipient"));
        }
        // (conversation key, recipients' mris, index entries as (member, name)).
        let (key, recipients, index): (String, Vec<String>, Vec<(String, String)>) =
            if to.starts_with("19:") {
                let members = self
                    .store
                    .thread(&to)?
                    .ok_or(Refusal(201, "unknown thread"))?;
                if !members.contains(&me) {
                    return Err(Refusal(201, "not a member of the thread"));
                }
                let index = members.iter().map(|m| (m.clone(), to.clone())).collect();
                (to.clone(), members, index)
            } else {
                let index = vec![(me.clone(), to.clone()), (to.clone(), me.clone())];
                (pair_key(&me, &to), vec![to.clone(), me.clone()], index)
            };
        let message_type = layered.message_type().unwrap_or("Text").trim().to_owned();
        let mut reply_body = String::new();
        if !message_type.starts_with("Control/") {
            let msg = Stored {
                id: 0,
                arrival_ms: now_ms,
                from,
                message_type,
                content: String::from_utf8_lossy(&layered.body).into_owned(),
                client_message_id: layered
                    .service
                    .get("Client-Message-ID")
                    .map(|v| v.trim().to_owned()),
            };
            let index: Vec<(&str, &str)> = index
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let stored = self.store.append(&key, &index, msg, now_ms)?;
            reply_body = format!(
                "<sdg-response><messageid>{}</messageid></sdg-response>",
                stored.id
            );
        }
        // Push the layered message as received, with empty outer headers.
        let mut push = b"\r\n".to_vec();
        let mut inner = layered.clone();
        inner.outer = None;
        if self.mutant(Mutant::MsnpLayeredLengthOffByOne) {
            let wrong = inner.body.len() + 1;
            inner.service.set("Content-Length", wrong.to_string());
        }
        inner.encode(&mut push);
        let targets: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(id, c)| {
                **id != conn
                    && c.registration.is_some()
                    && c.mri.as_ref().is_some_and(|m| {
                        recipients.contains(m)
                            && (*m == me || !self.mutant(Mutant::MsnpSdgNotDelivered))
                    })
            })
            .map(|(id, _)| *id)
            .collect();
        for t in targets {
            self.send_line(t, "SDG", 0, "MSGR", &push);
        }
        self.reply(conn, cmd, &[], reply_body.as_bytes());
        Ok(())
    }

    fn messages_by_conversation(&mut self, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        let me = self.bound(conn)?;
        let body = body_text(cmd);
        let req =
            MessagesByConversation::parse(&body).map_err(|_| Refusal(201, "invalid parameter"))?;
        if req.page_size == 0 || req.page_size > MAX_PAGE_SIZE {
            return Err(Refusal(201, "invalid page size"));
        }
        let id = bare(&req.id).to_owned();
        let key = if id.starts_with("19:") {
            let members = self
                .store
                .thread(&id)?
                .ok_or(Refusal(201, "unknown conversation"))?;
            if !members.contains(&me) && !self.mutant(Mutant::MsnpNonmemberReadsHistory) {
                return Err(Refusal(201, "not a member of the conversation"));
            }
            id.clone()
        } else {
            pair_key(&me, &id)
        };
        let cursor = match req.messages_sync_state.as_deref() {
            Some(_) if self.mutant(Mutant::MsnpSyncstateRestarts) => None,
            Some(s) => Some(
                decode_cursor(s, &key, req.start)
                    .ok_or(Refusal(201, "invalid messagessyncstate"))?,
            ),
            None => None,
        };
        let limit = req.page_size as usize;
        let mut page = self.store.page(&key, cursor, req.start, limit + 1)?;
        let has_more = page.len() > limit;
        page.truncate(limit);
        let next = match page.last() {
            Some(last) if self.mutant(Mutant::MsnpDuplicateAcrossPages) => last.id + 1,
            Some(last) => last.id,
            None => cursor.unwrap_or(0),
        };
        if self.mutant(Mutant::MsnpHistoryOldestFirst) {
            page.reverse();
        }
        let resp = MessagesByConversationResponse {
            id: req.id.clone(),
            messages: page.iter().map(render).collect(),
            messages_sync_state: encode_cursor(&key, next, req.start).into(),
            has_more: has_more && !self.mutant(Mutant::MsnpHasmoreAlwaysFalse),
        };
        let mut xml = Vec::new();
        resp.encode(&mut xml);
        let xml = self.get_reply_xml(xml);
        self.reply(conn, cmd, &[], &xml);
        Ok(())
    }

    fn recent_conversations(&mut self, conn: ConnId, cmd: &Command<'_>) -> Result<(), Refusal> {
        let me = self.bound(conn)?;
        let body = body_text(cmd);
        let req =
            RecentConversations::parse(&body).map_err(|_| Refusal(201, "invalid parameter"))?;
        if req.page_size == 0 || req.page_size > MAX_PAGE_SIZE {
            return Err(Refusal(201, "invalid page size"));
        }
        const RECENT: &str = "recent";
        let cursor = match req.sync_state.as_deref() {
            Some(s) => {
                Some(decode_cursor(s, RECENT, req.start).ok_or(Refusal(201, "invalid syncstate"))?)
            }
            None => None,
        };
        let oldest = self.mutant(Mutant::MsnpRecentOldestMessage);
        let per_conversation = if oldest || self.mutant(Mutant::MsnpRecentAllMessages) {
            MAX_PAGE_SIZE as usize
        } else {
            1
        };
        let mut all: Vec<(String, Vec<Stored>)> = Vec::new();
        for (name, key) in self.store.conversations(&me)? {
            let mut msgs = self.store.page(&key, None, req.start, per_conversation)?;
            if oldest {
                msgs = msgs.pop().into_iter().collect();
            }
            if msgs
                .first()
                .is_some_and(|m| cursor.is_none_or(|c| m.id < c))
            {
                all.push((name, msgs));
            }
        }
        all.sort_by_key(|(_, m)| std::cmp::Reverse(m.first().map_or(0, |m| m.id)));
        let limit = req.page_size as usize;
        let has_more = all.len() > limit;
        all.truncate(limit);
        let next = all
            .last()
            .and_then(|(_, m)| m.first())
            .map_or(cursor.unwrap_or(0), |m| m.id);
        let resp = RecentConversationsResponse {
            conversations: all
                .iter()
                .map(|(name, msgs)| Conversation {
                    id: name.clone().into(),
                    version: msgs.first().map_or(0, |m| m.id),
                    consumption_horizon: None,
                    messages: msgs.iter().map(render).collect(),
                    thread: None,
                })
                .collect(),
            sync_state: encode_cursor(RECENT, next, req.start).into(),
            has_more,
        };
        let mut xml = Vec::new();
        resp.encode(&mut xml);
        let xml = self.get_reply_xml(xml);
        self.reply(conn, cmd, &[], &xml);
        Ok(())
    }

    fn mutant(&self, m: Mutant) -> bool {
        self.config.mutant == Some(m)
    }

    /// The target a reply or error carries: the request's scope (`MSGR` for
    /// `MSGR\RECENTCONVERSATIONS`), `CON` when it has none.
    fn reply_target(&self, cmd: &Command<'_>) -> String {
        let full = cmd
            .target
            .as_deref()
            .filter(|_| self.mutant(Mutant::MsnpReplyFullTarget));
        full.or(cmd.scope()).unwrap_or("CON").to_owned()
    }

    /// A `GET` reply document as sent (the mutant drops the root's `-response` suffix).
    fn get_reply_xml(&self, xml: Vec<u8>) -> Vec<u8> {
        if self.mutant(Mutant::MsnpGetReplyWrongRoot) {
            String::from_utf8_lossy(&xml)
                .replace("-response>", ">")
                .into_bytes()
        } else {
            xml
        }
    }

    fn trid(&self, trid: u32) -> u32 {
        if self.mutant(Mutant::MsnpTridMismatch) {
            trid.wrapping_add(1)
        } else {
            trid
        }
    }

    /// `VERB t SCOPE len` + outer headers + blank line + body, echoing the request's TrID.
    fn reply(&mut self, conn: ConnId, cmd: &Command<'_>, headers: &[(&str, &str)], body: &[u8]) {
        let mut payload = Vec::with_capacity(body.len() + 64);
        for (n, v) in headers {
            payload.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        payload.extend_from_slice(b"\r\n");
        payload.extend_from_slice(body);
        let scope = self.reply_target(cmd);
        let trid = self.trid(cmd.trid.unwrap_or(0));
        self.send_line(conn, &cmd.verb, trid, &scope, &payload);
    }

    fn send_error(&mut self, conn: ConnId, code: u16, trid: u32, scope: &str, text: &str) {
        let payload =
            format!("\r\n<error><code>{code}</code><description>{text}</description></error>");
        let trid = self.trid(trid);
        if self.mutant(Mutant::MsnpErrorsTwoTokens) {
            self.send_raw(conn, format!("{code} {trid}\r\n").into_bytes());
            return;
        }
        self.send_line(conn, &code.to_string(), trid, scope, payload.as_bytes());
    }

    fn send_line(&mut self, conn: ConnId, verb: &str, trid: u32, target: &str, payload: &[u8]) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        let len = payload.len() + usize::from(self.mutant(Mutant::MsnpLenOffByOne));
        let mut bytes = format!("{verb} {trid} {target} {len}\r\n").into_bytes();
        bytes.extend_from_slice(payload);
        self.send_raw(conn, bytes);
    }

    /// Queues `bytes` for `conn`, coalesced with a send already queued for it.
    fn send_raw(&mut self, conn: ConnId, bytes: Vec<u8>) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        if let Some(Output::Send {
            conn: c,
            bytes: queued,
        }) = self.out.back_mut()
            && *c == conn
        {
            queued.extend_from_slice(&bytes);
            return;
        }
        self.out.push_back(Output::Send { conn, bytes });
    }

    fn close(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.out.push_back(Output::Close { conn });
    }
}

/// A stored message as a history `<message>`.
fn render(m: &Stored) -> msgr::Message<'static> {
    msgr::Message {
        message_id: m.id,
        original_arrival_time: format_iso8601_ms(m.arrival_ms).into(),
        from: m.from.clone().into(),
        message_type: m.message_type.clone().into(),
        content: m.content.clone().into(),
        client_message_id: m.client_message_id.clone().map(Into::into),
        compose_time: format_iso8601_ms(m.arrival_ms).into(),
    }
}

/// The key of a one-to-one conversation: both bare mris in byte order.
fn pair_key(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}|{b}")
    } else {
        format!("{b}|{a}")
    }
}

/// `8:alice;epid={…}` → `8:alice`.
fn bare(mri: &str) -> &str {
    mri.split(';').next().unwrap_or_default().trim()
}

/// The opaque cursor: hex of 0x12, u32 LE key length, key, u64 LE "below this id", u64 LE
/// start (shaped like seed 000's `messagessyncstate`, which is also 0x12-prefixed).
fn encode_cursor(key: &str, below: u64, start: u64) -> String {
    let mut raw = vec![0x12u8];
    raw.extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_le_bytes());
    raw.extend_from_slice(key.as_bytes());
    raw.extend_from_slice(&below.to_le_bytes());
    raw.extend_from_slice(&start.to_le_bytes());
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// The "below" id of a cursor, if it is well-formed and made for `key` and `start`.
fn decode_cursor(hex: &str, key: &str, start: u64) -> Option<u64> {
    let hex = hex.trim();
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let (&tag, rest) = raw.split_first()?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let k = rest.get(4..4 + len)?;
    let below = u64::from_le_bytes(rest.get(4 + len..12 + len)?.try_into().ok()?);
    let s = u64::from_le_bytes(rest.get(12 + len..20 + len)?.try_into().ok()?);
    (tag == 0x12 && k == key.as_bytes() && s == start && rest.len() == 20 + len).then_some(below)
}

/// The payload's body as text (outer headers skipped).
fn body_text(cmd: &Command<'_>) -> String {
    match cmd.parse_payload() {
        Some(Ok(p)) => String::from_utf8_lossy(&p.body).into_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Service;
    use crate::db::Open as _;

    const NOW: u64 = 1_430_300_000_000;

    struct Pair {
        hub: Hub,
        inbox: HashMap<ConnId, Vec<u8>>,
        closed: Vec<ConnId>,
        trid: u32,
        reg: HashMap<ConnId, String>,
    }

    /// A parsed server line.
    #[derive(Debug)]
    struct Line {
        verb: String,
        trid: u32,
        target: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Pair {
        fn new(mutant: Option<Mutant>) -> Self {
            let hub = Hub::new(
                Config {
                    mutant,
                    seed: 3,
                    ..Config::default()
                },
                Store::in_memory().unwrap(),
            );
            Self {
                hub,
                inbox: HashMap::new(),
                closed: Vec::new(),
                trid: 0,
                reg: HashMap::new(),
            }
        }

        fn feed(&mut self, now: u64, conn: ConnId, bytes: &[u8]) {
            self.hub.handle(now, conn, Event::Data(bytes));
            while let Some(o) = self.hub.poll_output() {
                match o {
                    Output::Send { conn, bytes } => {
                        self.inbox.entry(conn).or_default().extend(bytes);
                    }
                    Output::Close { conn } => self.closed.push(conn),
                }
            }
        }

        /// Sends `verb target` with outer headers (Registration added once bound) and body.
        fn send(&mut self, now: u64, conn: ConnId, verb: &str, target: &str, body: &str) -> u32 {
            self.trid += 1;
            let mut payload = String::new();
            if let Some(r) = self.reg.get(&conn) {
                payload.push_str(&format!("Registration: {r}\r\n"));
            }
            payload.push_str("\r\n");
            payload.push_str(body);
            let wire = format!(
                "{verb} {} {target} {}\r\n{payload}",
                self.trid,
                payload.len()
            );
            self.feed(now, conn, wire.as_bytes());
            self.trid
        }

        fn take(&mut self, conn: ConnId) -> Vec<Line> {
            let buf = self.inbox.remove(&conn).unwrap_or_default();
            let mut out = Vec::new();
            let mut at = 0;
            while at < buf.len() {
                let (cmd, n) = msnp::parse(&buf[at..]).unwrap().complete().unwrap();
                let p = Payload::parse(&cmd.payload).unwrap();
                out.push(Line {
                    verb: cmd.verb.to_string(),
                    trid: cmd.trid.unwrap(),
                    target: cmd.target.as_deref().unwrap().to_owned(),
                    headers: p
                        .headers
                        .iter()
                        .map(|h| (h.name.to_string(), h.value.to_string()))
                        .collect(),
                    body: String::from_utf8(p.body.to_vec()).unwrap(),
                });
                at += n;
            }
            out
        }

        fn take_one(&mut self, conn: ConnId) -> Line {
            let mut v = self.take(conn);
            assert_eq!(v.len(), 1, "{v:?}");
            v.remove(0)
        }

        fn login(&mut self, conn: ConnId, name: &str) {
            self.hub.handle(NOW, conn, Event::Connected(Service::Msnp));
            let t = self.send(NOW, conn, "CNT", "CON", "<connect><ver>2</ver></connect>");
            let r = self.take_one(conn);
            assert_eq!(
                (r.verb.as_str(), r.trid, r.target.as_str()),
                ("CNT", t, "CON")
            );
            assert!(r.body.contains("<nonce>") && r.body.contains("</nonce>"));
            let t = self.send(NOW, conn, "ATH", "CON\\USER", &format!("<user><ssl-compact-ticket>t=imspec</ssl-compact-ticket><uic>x</uic><id>{name}</id></user>"));
            let r = self.take_one(conn);
            assert_eq!(
                (r.verb.as_str(), r.trid, r.target.as_str()),
                ("ATH", t, "CON")
            );
            let t = self.send(NOW, conn, "BND", "CON\\MSGR", "<msgr><ver>2</ver><client><name>x</name><ver>1</ver></client><epid>{E}</epid></msgr>");
            let r = self.take_one(conn);
            assert_eq!(
                (r.verb.as_str(), r.trid, r.target.as_str()),
                ("BND", t, "CON")
            );
            let reg = r
                .headers
                .iter()
                .find(|(n, _)| n == "Set-Registration")
                .unwrap()
                .1
                .clone();
            self.reg.insert(conn, reg);
        }

        fn sdg(&mut self, now: u64, conn: ConnId, from: &str, to: &str, text: &str) -> Line {
            let body = format!(
                "Routing: 1.0\r\nTo: {to}\r\nFrom: {from};epid={{E}}\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\nMessage-Type: Text\r\nContent-Type: Text/plain; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            );
            let t = self.send(now, conn, "SDG", "MSGR", &body);
            let r = self.take_one(conn);
            assert_eq!(
                (r.verb.as_str(), r.trid, r.target.as_str()),
                ("SDG", t, "MSGR"),
                "{r:?}"
            );
            r
        }

        fn history(&mut self, conn: ConnId, id: &str, sync: Option<&str>, size: u32) -> Line {
            let sync = sync
                .map(|s| format!("<messagessyncstate>{s}</messagessyncstate>"))
                .unwrap_or_default();
            let t = self.send(NOW, conn, "GET", "MSGR\\MESSAGESBYCONVERSATION", &format!("<messagesbyconversation><id>{id}</id><start>0</start>{sync}<pagesize>{size}</pagesize></messagesbyconversation>"));
            let r = self.take_one(conn);
            assert_eq!(r.trid, t);
            r
        }
    }

    /// Pages through the whole history; returns the message ids in order received and the
    /// number of pages.
    fn page_all(p: &mut Pair, conn: ConnId, id: &str, size: u32) -> (Vec<u64>, usize) {
        let (mut ids, mut sync, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let r = p.history(conn, id, sync.as_deref(), size);
            assert_eq!(
                (r.verb.as_str(), r.target.as_str()),
                ("GET", "MSGR"),
                "{r:?}"
            );
            let doc = MessagesByConversationResponse::parse(&r.body).unwrap();
            ids.extend(doc.messages.iter().map(|m| m.message_id));
            pages += 1;
            if !doc.has_more || pages > 10 {
                return (ids, pages);
            }
            sync = Some(doc.messages_sync_state.into_owned());
        }
    }

    fn seeded(mutant: Option<Mutant>, n: u64) -> Pair {
        let mut p = Pair::new(mutant);
        p.login(1, "alice");
        p.login(2, "bob");
        for i in 0..n {
            p.sdg(NOW + i / 3, 1, "8:alice", "8:bob", &format!("m{i}"));
            let push = p.take_one(2);
            assert_eq!(
                (push.verb.as_str(), push.trid, push.target.as_str()),
                ("SDG", 0, "MSGR")
            );
            assert!(push.body.ends_with(&format!("\r\n\r\nm{i}")));
        }
        p
    }

    #[test]
    fn msnp_paging_250_by_100_newest_first_no_dup_no_gap() {
        let mut p = seeded(None, 250);
        let (ids, pages) = page_all(&mut p, 1, "8:bob", 100);
        assert_eq!(pages, 3);
        assert_eq!(ids.len(), 250);
        assert!(
            ids.windows(2).all(|w| w[0] > w[1]),
            "strictly newest first across pages"
        );
        // Bob sees the same conversation under alice's name.
        let (bob_ids, _) = page_all(&mut p, 2, "8:alice;epid={x}", 100);
        assert_eq!(bob_ids, ids);
        let r = p.history(1, "8:bob", None, 1);
        let doc = MessagesByConversationResponse::parse(&r.body).unwrap();
        assert_eq!(doc.messages[0].content, "m249");
        assert_eq!(doc.messages[0].from, "8:alice;epid={E}");
        assert!(doc.has_more);
    }

    #[test]
    fn msnp_recent_conversations_one_newest_per_conversation() {
        let mut p = seeded(None, 5);
        p.login(3, "carol");
        p.sdg(NOW + 10, 3, "8:carol", "8:alice", "from carol");
        p.take(1);
        let t = p.send(
            NOW,
            1,
            "GET",
            "MSGR\\RECENTCONVERSATIONS",
            "<recentconversations><start>0</start><pagesize>100</pagesize></recentconversations>",
        );
        let r = p.take_one(1);
        assert_eq!(
            (r.verb.as_str(), r.trid, r.target.as_str()),
            ("GET", t, "MSGR")
        );
        let doc = RecentConversationsResponse::parse(&r.body).unwrap();
        let got: Vec<(&str, Vec<&str>)> = doc
            .conversations
            .iter()
            .map(|c| {
                (
                    c.id.as_ref(),
                    c.messages.iter().map(|m| m.content.as_ref()).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("8:carol", vec!["from carol"]), ("8:bob", vec!["m4"])]
        );
        assert!(!doc.has_more);
    }

    #[test]
    fn msnp_registration_required_after_bnd_and_errors_have_four_tokens() {
        let mut p = Pair::new(None);
        p.login(1, "alice");
        let good = p.reg.insert(1, "wrong".into()).unwrap();
        let t = p.send(NOW, 1, "PUT", "MSGR\\PRESENCE", "<user/>");
        let r = p.take_one(1);
        assert_eq!(
            (r.verb.as_str(), r.trid, r.target.as_str()),
            ("911", t, "MSGR")
        );
        p.reg.insert(1, good);
        let t = p.send(NOW, 1, "PUT", "MSGR\\PRESENCE", "<user/>");
        assert_eq!((p.take_one(1).verb.as_str(), t), ("PUT", t));
        let t = p.send(NOW, 1, "XYZ", "CON", "");
        assert_eq!(p.take_one(1).verb, format!("200"));
        let _ = t;
        // Wrong ticket.
        p.hub.handle(NOW, 2, Event::Connected(Service::Msnp));
        p.send(
            NOW,
            2,
            "ATH",
            "CON\\USER",
            "<user><ssl-compact-ticket>t=nope</ssl-compact-ticket><id>bob</id></user>",
        );
        let r = p.take_one(2);
        assert_eq!((r.verb.as_str(), r.target.as_str()), ("911", "CON"));
        // Before BND nothing else works.
        p.send(NOW, 2, "SDG", "MSGR", "x");
        assert_eq!(p.take_one(2).verb, "911");
        // A malformed command line: error, then that connection only closes.
        p.feed(NOW, 2, b"PNG 7 CON x\r\n");
        assert_eq!(p.take_one(2).verb, "200");
        assert_eq!(p.closed, [2]);
        let t = p.send(NOW, 1, "PNG", "CON", "");
        assert_eq!(p.take_one(1).trid, t);
    }

    #[test]
    fn msnp_thread_history_refused_to_non_members() {
        let mut p = Pair::new(None);
        p.login(1, "alice");
        p.login(2, "bob");
        p.login(3, "mallory");
        p.send(NOW, 1, "PUT", "MSGR\\THREAD", "<thread><id>19:t1@thread.skype</id><members><member><mri>8:bob</mri><role>user</role></member></members></thread>");
        assert_eq!(p.take_one(1).verb, "PUT");
        p.sdg(NOW, 2, "8:bob", "19:t1@thread.skype", "hello thread");
        assert_eq!(p.take_one(1).verb, "SDG");
        assert_eq!(p.history(3, "19:t1@thread.skype", None, 10).verb, "201");
        let r = p.history(1, "19:t1@thread.skype", None, 10);
        assert_eq!(
            MessagesByConversationResponse::parse(&r.body)
                .unwrap()
                .messages
                .len(),
            1
        );
        // Mallory cannot post to it either.
        let body = "Routing: 1.0\r\nTo: 19:t1@thread.skype\r\nFrom: 8:mallory\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\nContent-Length: 1\r\n\r\nx";
        p.send(NOW, 3, "SDG", "MSGR", body);
        assert_eq!(p.take_one(3).verb, "201");

        let mut m = Pair::new(Some(Mutant::MsnpNonmemberReadsHistory));
        m.login(1, "alice");
        m.login(3, "mallory");
        m.send(
            NOW,
            1,
            "PUT",
            "MSGR\\THREAD",
            "<thread><id>19:t1@thread.skype</id></thread>",
        );
        m.take(1);
        assert_eq!(m.history(3, "19:t1@thread.skype", None, 10).verb, "GET");
    }

    #[test]
    fn msnp_history_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let ids = {
            let mut p = Pair::new(None);
            p.hub = Hub::new(Config::default(), Store::open(dir.path()).unwrap());
            p.login(1, "alice");
            (0..3)
                .map(|i| {
                    let body = p.sdg(NOW, 1, "8:alice", "8:bob", &format!("k{i}")).body;
                    let (_, rest) = body.split_once("<messageid>").unwrap();
                    rest.split_once("</messageid>").unwrap().0.to_owned()
                })
                .collect::<Vec<_>>()
        };
        let mut p = Pair::new(None);
        p.hub = Hub::new(Config::default(), Store::open(dir.path()).unwrap());
        p.login(2, "bob");
        let (got, _) = page_all(&mut p, 2, "8:alice", 2);
        let want: Vec<u64> = ids.iter().rev().map(|s| s.parse().unwrap()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn msnp_mutants_break_their_rule() {
        let (ids, _) = page_all(
            &mut seeded(Some(Mutant::MsnpHistoryOldestFirst), 5),
            1,
            "8:bob",
            10,
        );
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let (ids, pages) = page_all(
            &mut seeded(Some(Mutant::MsnpHasmoreAlwaysFalse), 5),
            1,
            "8:bob",
            2,
        );
        assert_eq!((ids.len(), pages), (2, 1));
        let (ids, _) = page_all(
            &mut seeded(Some(Mutant::MsnpSyncstateRestarts), 5),
            1,
            "8:bob",
            2,
        );
        assert_eq!(ids[0], ids[2]);
        let (ids, _) = page_all(
            &mut seeded(Some(Mutant::MsnpDuplicateAcrossPages), 5),
            1,
            "8:bob",
            2,
        );
        assert_eq!(ids[1], ids[2]);

        let mut p = seeded(Some(Mutant::MsnpRecentAllMessages), 3);
        p.send(
            NOW,
            1,
            "GET",
            "MSGR\\RECENTCONVERSATIONS",
            "<recentconversations><start>0</start><pagesize>10</pagesize></recentconversations>",
        );
        let doc = RecentConversationsResponse::parse(&p.take_one(1).body)
            .unwrap()
            .into_owned();
        assert_eq!(doc.conversations[0].messages.len(), 3);

        let mut p = Pair::new(Some(Mutant::MsnpTridMismatch));
        p.hub.handle(NOW, 1, Event::Connected(Service::Msnp));
        let t = p.send(NOW, 1, "PNG", "CON", "");
        assert_ne!(p.take_one(1).trid, t);

        let mut p = Pair::new(Some(Mutant::MsnpLenOffByOne));
        p.hub.handle(NOW, 1, Event::Connected(Service::Msnp));
        p.send(NOW, 1, "PNG", "CON", "");
        let raw = p.inbox.remove(&1).unwrap();
        assert_eq!(raw, b"PNG 1 CON 18\r\n\r\n<wait>50</wait>");

        let mut p = Pair::new(Some(Mutant::MsnpNoSetRegistration));
        p.hub.handle(NOW, 1, Event::Connected(Service::Msnp));
        p.send(
            NOW,
            1,
            "ATH",
            "CON\\USER",
            "<user><ssl-compact-ticket>t=imspec</ssl-compact-ticket><id>a</id></user>",
        );
        p.take(1);
        p.send(NOW, 1, "BND", "CON\\MSGR", "<msgr/>");
        assert!(p.take_one(1).headers.is_empty());
    }

    /// The second group of mutants (issues 3 and 4: rules no mutant broke before).
    #[test]
    fn msnp_rule_mutants_break_their_rule() {
        let recent = |p: &mut Pair| {
            let body = "<recentconversations><start>0</start><pagesize>10</pagesize></recentconversations>";
            p.send(NOW, 1, "GET", "MSGR\\RECENTCONVERSATIONS", body);
            p.take_one(1)
        };

        let mut p = seeded(Some(Mutant::MsnpRecentOldestMessage), 3);
        let doc = RecentConversationsResponse::parse(&recent(&mut p).body)
            .unwrap()
            .into_owned();
        assert_eq!(doc.conversations[0].messages[0].content, "m0");

        let mut p = Pair::new(Some(Mutant::MsnpReplyFullTarget));
        p.hub.handle(NOW, 1, Event::Connected(Service::Msnp));
        p.send(NOW, 1, "GET", "MSGR\\RECENTCONVERSATIONS", "<x/>");
        let r = p.take_one(1);
        assert_eq!(
            (r.verb.as_str(), r.target.as_str()),
            ("911", "MSGR\\RECENTCONVERSATIONS")
        );
        let mut p = seeded(Some(Mutant::MsnpGetReplyWrongRoot), 1);
        let r = recent(&mut p);
        assert!(r.body.starts_with("<recentconversations>"), "{}", r.body);

        // Delivery: the push is missing, or its layered Content-Length is one too many.
        let mut p = seeded(Some(Mutant::MsnpSdgNotDelivered), 0);
        p.sdg(NOW, 1, "8:alice", "8:bob", "hi");
        assert!(p.take(2).is_empty());
        let mut p = seeded(Some(Mutant::MsnpLayeredLengthOffByOne), 0);
        p.sdg(NOW, 1, "8:alice", "8:bob", "hi");
        let push = p.take_one(2);
        assert!(
            push.body.contains("Content-Length: 3\r\n\r\nhi"),
            "{push:?}"
        );
        assert!(Layered::parse(format!("\r\n{}", push.body).as_bytes()).is_err());

        let mut p = Pair::new(Some(Mutant::MsnpRegistrationNotEnforced));
        p.login(1, "alice");
        p.reg.insert(1, "wrong".into());
        p.send(NOW, 1, "PUT", "MSGR\\PRESENCE", "<user/>");
        assert_eq!(p.take_one(1).verb, "PUT");

        let mut p = Pair::new(Some(Mutant::MsnpPngNoWait));
        p.hub.handle(NOW, 1, Event::Connected(Service::Msnp));
        p.send(NOW, 1, "PNG", "CON", "");
        assert_eq!(p.take_one(1).body, "");

        let mut p = Pair::new(Some(Mutant::MsnpErrorsTwoTokens));
        p.hub.handle(NOW, 1, Event::Connected(Service::Msnp));
        let t = p.send(NOW, 1, "SDG", "MSGR", "x");
        assert_eq!(
            p.inbox.remove(&1).unwrap(),
            format!("911 {t}\r\n").as_bytes()
        );
    }

    #[test]
    fn msnp_cursor_round_trips_and_rejects_foreign_keys() {
        let c = encode_cursor("8:a|8:b", 42, 7);
        assert_eq!(decode_cursor(&c, "8:a|8:b", 7), Some(42));
        assert_eq!(decode_cursor(&c, "8:a|8:c", 7), None);
        assert_eq!(decode_cursor(&c, "8:a|8:b", 8), None);
        assert_eq!(decode_cursor("zz", "k", 0), None);
        assert_eq!(decode_cursor(&c[..c.len() - 2], "8:a|8:b", 7), None);
    }

    #[test]
    fn msnp_garbage_never_panics() {
        let mut p = Pair::new(None);
        for seed in 0..300u64 {
            let mut r = Rng::new(seed);
            let alphabet = b"CNTATHBNDSDGGETPUT 0123\\\r\nMSGR<>";
            let junk: Vec<u8> = (0..48)
                .map(|_| alphabet[(r.next_u64() % alphabet.len() as u64) as usize])
                .collect();
            p.hub
                .handle(NOW, 100 + seed, Event::Connected(Service::Msnp));
            p.feed(NOW, 100 + seed, &junk);
        }
    }

    #[test]
    fn msnp_presence_is_notified_to_contacts() {
        let mut p = Pair::new(None);
        p.login(1, "alice");
        p.login(2, "bob");
        p.login(3, "carol");
        p.send(
            NOW,
            2,
            "PUT",
            "MSGR\\CONTACTS",
            "<ml l=\"1\"><skp><c n=\"alice\" t=\"8\"><s l=\"3\" n=\"IM\"/></c></skp></ml>",
        );
        assert_eq!(p.take_one(2).verb, "PUT");
        let presence = "Routing: 1.0\r\nTo: 8:alice\r\nFrom: 8:alice\r\n\r\nReliability: 1.0\r\n\r\nPublication: 1.0\r\nUri: /user\r\nContent-Type: application/user+xml\r\nContent-Length: 47\r\n\r\n<user><s n=\"IM\"><Status>NLN</Status></s></user>";
        let t = p.send(NOW, 1, "PUT", "MSGR\\PRESENCE", presence);
        let r = p.take_one(1);
        assert_eq!(
            (r.verb.as_str(), r.trid, r.target.as_str()),
            ("PUT", t, "MSGR")
        );
        let n = p.take_one(2);
        assert_eq!(
            (n.verb.as_str(), n.trid, n.target.as_str()),
            ("NFY", 0, "MSGR\\PUT")
        );
        assert!(n.body.ends_with("<Status>NLN</Status></s></user>"));
        assert!(p.take(3).is_empty(), "carol did not list alice");
        // A list that is not an `<ml>` document is refused; `n` may be a whole mri.
        let t = p.send(
            NOW,
            3,
            "PUT",
            "MSGR\\CONTACTS",
            "<ml><skp><c t=\"8\"/></skp></ml>",
        );
        let r = p.take_one(3);
        assert_eq!((r.verb.as_str(), r.trid), ("201", t));
        p.send(
            NOW,
            3,
            "PUT",
            "MSGR\\CONTACTS",
            "<ml><skp><c n='8:alice'/></skp></ml>",
        );
        assert_eq!(p.take_one(3).verb, "PUT");
        p.send(NOW, 1, "PUT", "MSGR\\PRESENCE", presence);
        p.take_one(1);
        assert_eq!(p.take_one(3).target, "MSGR\\PUT");
    }
}
