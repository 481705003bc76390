//! Message-waiting indication: the `message-summary` event package (RFC 3842) over SUBSCRIBE
//! and NOTIFY (RFC 6665); docs/protocols/sip.md §4.1, §4.2, §6.1, §6.2, §8.6.
//!
//! * `SUBSCRIBE` with `Event: message-summary` (else `489 Bad Event`, RFC 6665 §4.2.1.1) to
//!   `sip:<user>@<domain>` → `200 OK` (Kamailio's code, not 202) with `Expires` (default
//!   [`SUBSCRIBE_EXPIRES`], RFC 3842 §4.2) and a `Contact`, then at once a NOTIFY with
//!   `Subscription-State: active;expires=N` and an `application/simple-message-summary` body:
//!   `Messages-Waiting: yes|no`, `Message-Account: sip:offline@<sip host:port>`,
//!   `Text-Message: <stored>/0`, then the summary lines of any PUBLISHed state for that user
//!   (other classes than Text-Message, see `publish.rs`); `yes` when messages are stored or a
//!   publication says yes (§6.1).
//! * A NOTIFY follows whenever that body changes (message stored, dump or MSRP delivery
//!   finished, expiry, PUBLISH), at most one per change, after all in-flight deliveries of the
//!   user settled (so a drain ends with one `no`, §6.2).
//! * A refresh (in-dialog SUBSCRIBE) gets `200` and a NOTIFY; `Expires: 0` gets `200` and a
//!   final NOTIFY `terminated;reason=timeout` (also for an initial SUBSCRIBE: a fetch, RFC 6665
//!   §4.4.3); an unknown dialog `481`; an expired subscription a final NOTIFY. A NOTIFY
//!   answered `481` ends the subscription (RFC 6665 §4.1.3).

use imspec_codec::sip::message_summary::{self, Class, MessageSummary, Summary};
use imspec_codec::sip::{self, Message};

use super::offline::without_tag;
use super::publish::Publication;
use super::relay::{ClientTxn, TxnKind};
use super::{Hub, Req, SUBSCRIBE_EXPIRES};
use crate::{ConnId, Mutant};

pub(super) struct Subscription {
    pub(super) user: String,
    pub(super) call_id: String,
    pub(super) local_tag: String,
    pub(super) remote_tag: Option<String>,
    pub(super) local_uri: String,
    pub(super) remote_uri: String,
    pub(super) contact: String,
    pub(super) conn: ConnId,
    pub(super) event: String,
    pub(super) expires_ms: u64,
    pub(super) cseq: u32,
    pub(super) last_body: Vec<u8>,
}

impl Hub {
    pub(super) fn subscribe(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        msg: &Message<'_>,
        req: &Req<'_>,
    ) {
        let Some(event) = self.event_ok(conn, msg) else {
            return;
        };
        let expires = match msg.expires() {
            None => SUBSCRIBE_EXPIRES,
            Some(Ok(e)) => e,
            Some(Err(_)) => {
                self.bad_request(conn, msg, "bad Expires");
                return;
            }
        };
        let expires = if expires == 0 && self.mutant(Mutant::SipUnsubscribeStillActive) {
            SUBSCRIBE_EXPIRES
        } else {
            expires
        };
        let expires_ms = now_ms + u64::from(expires) * 1000;
        let contact_hdr = [("Contact", self.contact())];
        if let Some(tag) = req.to.tag() {
            let found = self
                .subs
                .iter()
                .find(|(_, s)| s.call_id == req.call_id && s.local_tag == tag)
                .map(|(id, _)| *id);
            let Some(id) = found else {
                self.reply(
                    conn,
                    msg,
                    481,
                    "Subscription Does Not Exist",
                    None,
                    &[],
                    None,
                );
                return;
            };
            if let Some(s) = self.subs.get_mut(&id) {
                s.expires_ms = expires_ms;
            }
            let extra = [contact_hdr[0].clone(), ("Expires", expires.to_string())];
            self.reply(conn, msg, 200, "OK", Some(tag), &extra, None);
            self.finish_subscribe(now_ms, id, expires);
            return;
        }
        let Some(user) = self.user_of(conn, msg, req.uri.as_ref()) else {
            return;
        };
        let contact = match msg.contacts() {
            Ok(c) if !c.is_empty() => c.first().map(|c| c.uri.to_string()).unwrap_or_default(),
            _ => {
                self.bad_request(conn, msg, "SUBSCRIBE needs one Contact");
                return;
            }
        };
        let local_tag = self.rng.hex(8);
        let id = self.next_id;
        self.next_id += 1;
        self.subs.insert(
            id,
            Subscription {
                user: user.to_owned(),
                call_id: req.call_id.to_owned(),
                local_tag: local_tag.clone(),
                remote_tag: req.from.tag().map(str::to_owned),
                local_uri: msg.header("To").map(without_tag).unwrap_or_default(),
                remote_uri: msg.header("From").map(without_tag).unwrap_or_default(),
                contact,
                conn,
                event,
                expires_ms,
                cseq: 0,
                last_body: Vec::new(),
            },
        );
        let extra = [contact_hdr[0].clone(), ("Expires", expires.to_string())];
        self.reply(conn, msg, 200, "OK", Some(&local_tag), &extra, None);
        self.finish_subscribe(now_ms, id, expires);
    }

    /// The NOTIFY that follows every accepted SUBSCRIBE.
    fn finish_subscribe(&mut self, now_ms: u64, id: u64, expires: u32) {
        if expires == 0 {
            self.notify(now_ms, id, true);
            self.subs.remove(&id);
        } else {
            self.notify(now_ms, id, false);
        }
    }
    pub(super) fn event_ok(&mut self, conn: ConnId, msg: &Message<'_>) -> Option<String> {
        match msg.event() {
            Some(Ok(e)) if e.value.eq_ignore_ascii_case("message-summary") => {
                msg.header("Event").map(|v| v.trim().to_owned())
            }
            _ => {
                let extra = [("Allow-Events", "message-summary".to_owned())];
                self.reply(conn, msg, 489, "Bad Event", None, &extra, None);
                None
            }
        }
    }

    /// The message-summary body for `user`.
    fn summary(&self, now_ms: u64, user: &str) -> Vec<u8> {
        let mut count = self.store.count(user, now_ms);
        if self.mutant(Mutant::SipMwiWrongCount) {
            count += 1;
        }
        let mut summary = MessageSummary::new(count > 0)
            .with_account(self.message_account())
            .with_summary(Summary {
                class: Class::Text,
                new: u32::try_from(count).unwrap_or(u32::MAX),
                old: 0,
                urgent: None,
            });
        let mut pubs: Vec<&Publication> = self
            .publications
            .values()
            .filter(|p| p.user == user && p.expires_ms > now_ms)
            .collect();
        pubs.sort_by_key(|p| p.expires_ms);
        for p in pubs {
            let Ok(parsed) =
                message_summary::parse_with(&p.body, &message_summary::Limits::lenient())
            else {
                continue;
            };
            summary.waiting |= parsed.waiting;
            summary
                .summaries
                .extend(parsed.summaries.iter().filter(|s| s.class != Class::Text));
        }
        summary.to_bytes()
    }

    /// Sends a NOTIFY for subscription `id` with the current state.
    pub(super) fn notify(&mut self, now_ms: u64, id: u64, terminated: bool) {
        let body = match self.subs.get(&id) {
            Some(s) => self.summary(now_ms, &s.user.clone()),
            None => return,
        };
        let branch = self.branch();
        let via = self.via(&branch);
        let contact = self.contact();
        let Some(s) = self.subs.get_mut(&id) else {
            return;
        };
        s.cseq += 1;
        s.last_body.clone_from(&body);
        let state = if terminated {
            "terminated;reason=timeout".to_owned()
        } else {
            format!(
                "active;expires={}",
                s.expires_ms.saturating_sub(now_ms).div_ceil(1000)
            )
        };
        let to = match &s.remote_tag {
            Some(t) => format!("{};tag={t}", s.remote_uri),
            None => s.remote_uri.clone(),
        };
        let req = Message::request(sip::Method::NOTIFY, s.contact.clone())
            .with_header("Via", via)
            .with_header("Max-Forwards", "70")
            .with_header("From", format!("{};tag={}", s.local_uri, s.local_tag))
            .with_header("To", to)
            .with_header("Call-ID", s.call_id.clone())
            .with_header("CSeq", format!("{} NOTIFY", s.cseq))
            .with_header("Contact", contact)
            .with_header("Event", s.event.clone())
            .with_header("Subscription-State", state)
            .with_header("Content-Type", "application/simple-message-summary")
            .with_body(body);
        let (target, origin) = (s.contact.clone(), s.conn);
        let Some(route) = self.route(&target, Some(origin)) else {
            return;
        };
        self.txns.insert(
            branch,
            ClientTxn {
                conn: route,
                deadline_ms: now_ms + self.config.relay_timeout_ms,
                kind: TxnKind::Notify(id),
            },
        );
        self.send_msg(route, &req);
    }

    /// After `user`'s state may have changed: once none of their deliveries is in flight,
    /// NOTIFY each subscription whose body differs from the last one it got.
    pub(super) fn settle(&mut self, now_ms: u64, user: &str) {
        if self.in_flight.iter().any(|(u, _)| u == user) {
            return;
        }
        let body = self.summary(now_ms, user);
        if self.mutant(Mutant::SipNoNotifyOnDrain) && self.store.count(user, now_ms) == 0 {
            return;
        }
        let due: Vec<u64> = self
            .subs
            .iter()
            .filter(|(_, s)| s.user == user && s.last_body != body)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.notify(now_ms, id, false);
        }
    }
}
