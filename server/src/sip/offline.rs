//! The offline store: MESSAGEs nobody took, and the dump that hands them over (Kamailio
//! msilo; docs/protocols/sip.md §3.2–§3.4, §6.4, §8.4, §8.5, §8.10).
//!
//! * **Store**: a MESSAGE with no binding, or whose relay failed (see `relay.rs`), is stored
//!   durably and the sender gets `202 Accepted` (`503` if the store fails). The MESSAGEs of
//!   one read are committed together (one fsync) and each is answered only after that commit.
//!   An RFC 3994 `application/im-iscomposing+xml` status message is not stored (`480`): it is
//!   about a conversation going on now, not a message waiting.
//! * **Dump** (msilo's `m_dump`, after a REGISTER, see `registrar.rs`): each stored message
//!   (not expired, not already in flight) goes, in storage order, as a new MESSAGE: new
//!   `Call-ID`, `CSeq: 1 MESSAGE`, `From` = the original sender with a new tag, `To` = the
//!   original `To`, `Date` = arrival time (RFC 1123, RFC 3261 §20.17), the original
//!   `Content-Type` and body unchanged (no msilo `[Offline message - …]` prefix). All are sent
//!   at once (pipelined in order); each is deleted only after the user agent's 2xx; a non-2xx,
//!   a timeout or a lost connection keeps it for the next REGISTER.
//! * **Expiry**: stored messages expire after [`Config::expiry_ms`](super::Config::expiry_ms)
//!   (default 7 days; msilo's `expire_time` is 3 days) and are then never delivered.

use imspec_codec::date::format_rfc1123;
use imspec_codec::sip::header::NameAddr;
use imspec_codec::sip::{self, Message};

use super::relay::{ClientTxn, TxnKind};
use super::{Hub, Offline};
use crate::{ConnId, Mutant};

pub(super) struct ToStore {
    pub(super) conn: ConnId,
    pub(super) request: Message<'static>,
    pub(super) user: String,
    pub(super) offline: Offline,
}

impl Hub {
    pub(super) fn store_offline(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        msg: &Message<'_>,
        user: &str,
    ) {
        if is_status_message(msg) && !self.mutant(Mutant::SipStoresIsComposing) {
            // An RFC 3994 indication is about a conversation going on now (its receiver drops
            // the "active" state after the refresh interval or 120 s): delivered late it
            // would be stale, and it is not a message waiting. Nothing is stored.
            self.reply(conn, msg, 480, "Temporarily Unavailable", None, &[], None);
            return;
        }
        let offline = Offline {
            id: 0,
            arrival_ms: now_ms,
            expires_ms: now_ms + self.config.expiry_ms,
            from: msg.header("From").map(without_tag).unwrap_or_default(),
            to: msg.header("To").map(without_tag).unwrap_or_default(),
            content_type: msg.header("Content-Type").map(str::to_owned),
            body: msg.body.to_vec(),
        };
        self.to_store.push(ToStore {
            conn,
            request: msg.clone().into_owned(),
            user: user.to_owned(),
            offline,
        });
    }

    /// Commits the queued MESSAGEs in one transaction, then answers each: `202` once durable
    /// (`503` if the commit failed), and NOTIFYs their users' watchers.
    pub(super) fn flush_stores(&mut self, now_ms: u64) {
        if self.to_store.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.to_store);
        let items = batch
            .iter()
            .map(|t| (t.user.clone(), t.offline.clone()))
            .collect();
        let stored = self.store.store_many(items, now_ms).is_ok();
        let mut users: Vec<&str> = Vec::new();
        for t in &batch {
            match (stored, self.mutant(Mutant::Sip202As200)) {
                (true, false) => self.reply(t.conn, &t.request, 202, "Accepted", None, &[], None),
                (true, true) => self.reply(t.conn, &t.request, 200, "OK", None, &[], None),
                (false, _) => {
                    self.reply(
                        t.conn,
                        &t.request,
                        503,
                        "Service Unavailable",
                        None,
                        &[],
                        None,
                    );
                }
            }
            if !users.contains(&t.user.as_str()) {
                users.push(&t.user);
            }
        }
        if stored {
            for u in users {
                self.settle(now_ms, u);
            }
        }
    }

    pub(super) fn dump(&mut self, now_ms: u64, user: &str, contact: &str, origin: ConnId) {
        let Ok(mut msgs) = self.store.list(user, now_ms) else {
            return;
        };
        msgs.retain(|m| !self.in_flight.contains(&(user.to_owned(), m.id)));
        if self.mutant(Mutant::SipDumpOutOfOrder) {
            msgs.reverse();
        }
        let mut deleted = false;
        for m in msgs {
            let Some(route) = self.route(contact, Some(origin)) else {
                break;
            };
            let branch = self.branch();
            let tag = self.rng.hex(8);
            let call_id = format!("{}@{}", self.rng.hex(12), self.host());
            let mut req = Message::request(sip::Method::MESSAGE, contact.to_owned())
                .with_header("Via", self.via(&branch))
                .with_header("Max-Forwards", "70")
                .with_header("From", format!("{};tag={tag}", m.from))
                .with_header("To", m.to.clone())
                .with_header("Call-ID", call_id)
                .with_header("CSeq", "1 MESSAGE")
                .with_header("Date", format_rfc1123(m.arrival_ms / 1000));
            if let Some(ct) = &m.content_type {
                req = req.with_header("Content-Type", ct.clone());
            }
            let req = req.with_body(m.body.clone());
            self.in_flight.insert((user.to_owned(), m.id));
            self.txns.insert(
                branch,
                ClientTxn {
                    conn: route,
                    deadline_ms: now_ms + self.config.relay_timeout_ms,
                    kind: TxnKind::Dump {
                        user: user.to_owned(),
                        id: m.id,
                    },
                },
            );
            self.send_msg(route, &req);
            if self.mutant(Mutant::SipDeleteBefore2xx) {
                deleted |= self.store.remove(user, m.id).unwrap_or(false);
            }
        }
        if deleted {
            self.settle(now_ms, user);
        }
    }
}

/// Whether `msg` carries an RFC 3994 status message (`application/im-iscomposing+xml`), not
/// a message for its user.
fn is_status_message(msg: &Message<'_>) -> bool {
    msg.content_type().and_then(Result::ok).is_some_and(|ct| {
        ct.kind.eq_ignore_ascii_case("application")
            && ct.subtype.eq_ignore_ascii_case("im-iscomposing+xml")
    })
}

/// A From/To value without its `tag` parameter, in canonical form.
pub(super) fn without_tag(value: &str) -> String {
    match NameAddr::parse(value) {
        Ok(mut a) => {
            a.params.retain(|p| !p.name.eq_ignore_ascii_case("tag"));
            a.to_string()
        }
        Err(_) => value.trim().to_owned(),
    }
}
