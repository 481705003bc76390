//! The registrar: REGISTER bindings (RFC 3261 §10.3; docs/protocols/sip.md §2, §8.2).
//!
//! * Bindings per user (the `To` user; its host must be ours, else `403`); expiry from the
//!   Contact's `expires` parameter, else the `Expires` header, else [`REGISTER_EXPIRES`] s
//!   (RFC 3261 §10.2.1.1); `expires=0` removes that contact, `Contact: *` with `Expires: 0`
//!   removes all (§10.2.2; anything else with `*` is `400`); no Contact only queries.
//! * `200 OK` lists every live binding as `Contact: <uri>;expires=<seconds left>` (§10.3 step
//!   8; none after the last one is removed).
//! * After a REGISTER that adds or refreshes a binding, the user's stored messages are dumped
//!   to that Contact (msilo's `m_dump`, docs/protocols/sip.md §3.3; see `offline.rs`).
//!
//! Bindings live in memory only (§8.10, Kamailio's `usrloc db_mode=0`).

use imspec_codec::sip::{self, Message};

use super::{Hub, REGISTER_EXPIRES, Req, sip_uri};
use crate::{ConnId, Mutant};

pub(super) struct Binding {
    pub(super) contact: String,
    pub(super) conn: ConnId,
    pub(super) expires_ms: u64,
}

impl Hub {
    pub(super) fn register(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        let to = sip_uri(&req.to.uri);
        if let Some(to) = &to
            && !self.is_ours(to)
        {
            self.reply(conn, msg, 403, "Relay Forbidden", None, &[], None);
            return;
        }
        let Some(user) = self.user_of(conn, msg, to.as_ref()) else {
            return;
        };
        let default = match msg.expires() {
            None => REGISTER_EXPIRES,
            Some(Ok(e)) => e,
            Some(Err(_)) => {
                self.bad_request(conn, msg, "bad Expires");
                return;
            }
        };
        let raw: Vec<&str> = msg.header_all("Contact").collect();
        let mut dump_to = None;
        if raw.iter().any(|v| v.trim() == "*") {
            if raw.len() != 1 || default != 0 || msg.header("Expires").is_none() {
                self.bad_request(
                    conn,
                    msg,
                    "Contact: * needs Expires: 0 and no other Contact",
                );
                return;
            }
            if !self.mutant(Mutant::SipUnregisterIgnored) {
                self.bindings.remove(user);
            }
        } else {
            let Ok(contacts) = msg.contacts() else {
                self.bad_request(conn, msg, "bad Contact");
                return;
            };
            let mut updates = Vec::new();
            for c in &contacts {
                let expires = match c.param("expires").map(sip::header::delta_seconds) {
                    None => default,
                    Some(Ok(e)) => e,
                    Some(Err(_)) => {
                        self.bad_request(conn, msg, "bad expires parameter");
                        return;
                    }
                };
                updates.push((c.uri.to_string(), expires));
            }
            let unregister_ignored = self.mutant(Mutant::SipUnregisterIgnored);
            let list = self.bindings.entry(user.to_owned()).or_default();
            for (contact, expires) in updates {
                if expires == 0 {
                    if !unregister_ignored {
                        list.retain(|b| b.contact != contact);
                    }
                    continue;
                }
                let expires_ms = now_ms + u64::from(expires) * 1000;
                match list.iter_mut().find(|b| b.contact == contact) {
                    Some(b) => {
                        b.conn = conn;
                        b.expires_ms = expires_ms;
                    }
                    None => list.push(Binding {
                        contact: contact.clone(),
                        conn,
                        expires_ms,
                    }),
                }
                dump_to.get_or_insert(contact);
            }
        }
        let live: Vec<(String, u64)> = match self.bindings.get_mut(user) {
            Some(list) => {
                list.retain(|b| b.expires_ms > now_ms);
                list.iter()
                    .map(|b| (b.contact.clone(), (b.expires_ms - now_ms).div_ceil(1000)))
                    .collect()
            }
            None => Vec::new(),
        };
        if live.is_empty() {
            self.bindings.remove(user);
        }
        let extra: Vec<(&str, String)> = live
            .iter()
            .map(|(c, left)| ("Contact", format!("<{c}>;expires={left}")))
            .collect();
        self.reply(conn, msg, 200, "OK", None, &extra, None);
        if let Some(contact) = dump_to {
            self.dump(now_ms, user, &contact, conn);
        }
    }
}
