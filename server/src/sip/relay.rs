//! The MESSAGE relay and the server's client transactions (RFC 3261 §16 proxy behaviour,
//! §17.1 client transactions, RFC 3428; docs/protocols/sip.md §3.1, §8.3, §8.4).
//!
//! * **MESSAGE** to a user with live bindings: relayed to every binding (a proxy's copy,
//!   RFC 3261 §16.6: Request-URI = the Contact, our `Via` on top, `Max-Forwards` minus one,
//!   the first `Route` value removed when it names us (§16.4), everything else as sent); the
//!   first 2xx goes back to the sender with our `Via` removed (§16.7). When no binding is
//!   reachable, or every branch answers non-2xx, times out (see below) or loses its
//!   connection, the message is stored (see `offline.rs`: msilo plus the `failure_route`
//!   of docs/protocols/peers.md §2.1). Provisional responses are not forwarded. A MESSAGE to
//!   the mailbox user gets `405` (the mailbox speaks INVITE only).
//! * **Reaching a user agent** (relay, dump, NOTIFY; §8.3): over the connection the request
//!   came on (the REGISTER's, the SUBSCRIBE's) while it is open and either the Contact's
//!   `host:port` equals the connection's source address (what Kamailio does), the Contact has
//!   the RFC 5626 `;ob` parameter, or the connection is in memory (no address). Otherwise the
//!   server opens (or reuses) a TCP connection to the Contact's IP literal and port (5060 if
//!   none; `transport=udp`/`tls`/`ws` and host names are unreachable: no UDP, no DNS). A
//!   harness client on an ephemeral port therefore writes its own address in `Contact` (or
//!   `;ob`) to get connection reuse.
//! * **Client transactions**: every request the server sends (a relayed MESSAGE, a dumped
//!   MESSAGE, a NOTIFY) waits for a final response, matched by the top `Via` branch
//!   (RFC 3261 §17.1.3), for [`Config::relay_timeout_ms`](super::Config::relay_timeout_ms)
//!   (default [`RELAY_TIMEOUT_MS`](super::RELAY_TIMEOUT_MS), Kamailio's `fr_timer`); a timeout
//!   or a lost connection counts as a failure.

use imspec_codec::sip::header::NameAddr;
use imspec_codec::sip::{self, Message};

use super::{Conn, Hub, MAILBOX_USER, Req, sip_uri};
use crate::{ConnId, Mutant, Service};

pub(super) struct ClientTxn {
    pub(super) conn: ConnId,
    pub(super) deadline_ms: u64,
    pub(super) kind: TxnKind,
}

pub(super) enum TxnKind {
    Relay(u64),
    Dump { user: String, id: u64 },
    Notify(u64),
}

pub(super) struct Relay {
    pub(super) origin: ConnId,
    pub(super) request: Message<'static>,
    pub(super) user: String,
    pub(super) pending: usize,
    pub(super) done: bool,
}

impl Hub {
    pub(super) fn message(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        if req.uri.as_ref().and_then(|u| u.user.as_deref()) == Some(MAILBOX_USER) {
            let extra = [("Allow", "INVITE, ACK, BYE".to_owned())];
            self.reply(conn, msg, 405, "Method Not Allowed", None, &extra, None);
            return;
        }
        let Some(user) = self.user_of(conn, msg, req.uri.as_ref()) else {
            return;
        };
        let contacts: Vec<(String, ConnId)> = self
            .bindings
            .get(user)
            .map(|list| {
                list.iter()
                    .filter(|b| b.expires_ms > now_ms)
                    .map(|b| (b.contact.clone(), b.conn))
                    .collect()
            })
            .unwrap_or_default();
        let mut branches = Vec::new();
        for (contact, origin) in contacts {
            if let Some(route) = self.route(&contact, Some(origin)) {
                branches.push((contact, route));
            }
        }
        if branches.is_empty() {
            self.store_offline(now_ms, conn, msg, user);
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let deadline_ms = now_ms + self.config.relay_timeout_ms;
        for (contact, route) in &branches {
            let branch = self.branch();
            let keep_route = self.mutant(Mutant::SipRelayKeepsOwnRoute);
            let fwd = forward(msg, contact, &self.via(&branch), &|uri: &str| {
                !keep_route && self.routes_here(uri)
            });
            self.txns.insert(
                branch,
                ClientTxn {
                    conn: *route,
                    deadline_ms,
                    kind: TxnKind::Relay(id),
                },
            );
            self.send_msg(*route, &fwd);
        }
        self.relays.insert(
            id,
            Relay {
                origin: conn,
                request: msg.clone().into_owned(),
                user: user.to_owned(),
                pending: branches.len(),
                done: false,
            },
        );
    }

    pub(super) fn on_response(&mut self, now_ms: u64, msg: &Message<'_>) {
        let Some(status) = msg.status() else {
            return;
        };
        if status < 200 {
            return;
        }
        let branch = msg
            .vias()
            .ok()
            .and_then(|v| v.first().and_then(|v| v.branch().map(str::to_owned)));
        let Some(t) = branch.and_then(|b| self.txns.remove(&b)) else {
            return;
        };
        match t.kind {
            TxnKind::Relay(id) => self.relay_answer(now_ms, id, Some(msg)),
            TxnKind::Dump { user, id } => {
                self.in_flight.remove(&(user.clone(), id));
                if (200..300).contains(&status) && !self.mutant(Mutant::SipDeleteBefore2xx) {
                    let _ = self.store.remove(&user, id);
                }
                self.settle(now_ms, &user);
            }
            TxnKind::Notify(id) => {
                if status == 481 {
                    self.subs.remove(&id);
                }
            }
        }
    }

    pub(super) fn txn_failed(&mut self, now_ms: u64, t: ClientTxn) {
        match t.kind {
            TxnKind::Relay(id) => self.relay_answer(now_ms, id, None),
            TxnKind::Dump { user, id } => {
                self.in_flight.remove(&(user.clone(), id));
                self.settle(now_ms, &user);
            }
            TxnKind::Notify(_) => {}
        }
    }

    fn relay_answer(&mut self, now_ms: u64, id: u64, resp: Option<&Message<'_>>) {
        let Some(r) = self.relays.get_mut(&id) else {
            return;
        };
        r.pending = r.pending.saturating_sub(1);
        let mut forward_to = None;
        if let Some(m) = resp
            && m.status().is_some_and(|s| (200..300).contains(&s))
            && !r.done
        {
            r.done = true;
            forward_to = Some((r.origin, pop_via(m)));
        }
        if let Some((origin, m)) = forward_to {
            self.send_msg(origin, &m);
        }
        if self.relays.get(&id).is_some_and(|r| r.pending == 0)
            && let Some(r) = self.relays.remove(&id)
            && !r.done
        {
            if self.mutant(Mutant::SipRelayDropsOffline) {
                self.reply(
                    r.origin,
                    &r.request,
                    480,
                    "Temporarily Unavailable",
                    None,
                    &[],
                    None,
                );
            } else {
                self.store_offline(now_ms, r.origin, &r.request, &r.user);
            }
        }
    }

    /// The connection that reaches `contact` (see the module docs), opening one if needed.
    pub(super) fn route(&mut self, contact: &str, origin: Option<ConnId>) -> Option<ConnId> {
        let uri = sip_uri(contact)?;
        let addr = uri.socket_addr();
        if let Some(o) = origin
            && let Some(c) = self.conns.get(&o)
            && c.service == Service::Sip
            && (c.peer.is_none() || uri.has_param("ob") || (addr.is_some() && addr == c.peer))
        {
            return Some(o);
        }
        if uri
            .transport()
            .is_some_and(|t| !t.eq_ignore_ascii_case("tcp"))
        {
            return None;
        }
        let addr = addr?;
        if let Some((id, _)) = self
            .conns
            .iter()
            .find(|(_, c)| c.service == Service::Sip && c.peer == Some(addr))
        {
            return Some(*id);
        }
        let id = self.next_out;
        self.next_out += 1;
        self.conns.insert(
            id,
            Conn {
                service: Service::Sip,
                buf: Vec::new(),
                peer: Some(addr),
                session: None,
            },
        );
        self.connects.push_back((id, addr));
        Some(id)
    }
}

/// A proxy's copy of `msg` towards `contact`: new Request-URI, our Via on top,
/// `Max-Forwards` decremented (70 if absent), and the first Route value taken off when it
/// names us (`ours`, RFC 3261 §16.4: "If the first value in the Route header field
/// indicates this proxy, the proxy MUST remove that value from the request").
fn forward(
    msg: &Message<'_>,
    contact: &str,
    via: &str,
    ours: &dyn Fn(&str) -> bool,
) -> Message<'static> {
    let mut out = Message::request(
        msg.method()
            .cloned()
            .unwrap_or(sip::Method::MESSAGE)
            .into_owned(),
        contact.to_owned(),
    );
    out.headers.push("Via", via.to_owned());
    let mut max_forwards = false;
    let mut first_route = true;
    for h in msg.headers.iter() {
        if first_route && sip::header::same_name(&h.name, "Route") {
            first_route = false;
            if let Ok(values) = sip::header::split_list(&h.value)
                && let Some((first, rest)) = values.split_first()
                && NameAddr::parse(first).is_ok_and(|a| ours(&a.uri))
            {
                if !rest.is_empty() {
                    out.headers.push(h.name.to_string(), rest.join(", "));
                }
                continue;
            }
        }
        if sip::header::full_name(&h.name).eq_ignore_ascii_case("Max-Forwards") {
            let n = sip::header::delta_seconds(&h.value).unwrap_or(70);
            out.headers
                .push("Max-Forwards", n.saturating_sub(1).to_string());
            max_forwards = true;
        } else if !sip::header::same_name(&h.name, "Content-Length") {
            out.headers.push(h.name.to_string(), h.value.to_string());
        }
    }
    if !max_forwards {
        out.headers.push("Max-Forwards", "69");
    }
    out.with_body(msg.body.to_vec())
}

/// `msg` without its top Via element (ours).
fn pop_via(msg: &Message<'_>) -> Message<'static> {
    let mut out = msg.clone().into_owned();
    let Some(pos) = out
        .headers
        .0
        .iter()
        .position(|h| sip::header::same_name(&h.name, "Via"))
    else {
        return out;
    };
    let rest = out
        .headers
        .0
        .get(pos)
        .and_then(|h| sip::header::split_list(&h.value).ok())
        .map(|v| v.get(1..).unwrap_or_default().join(", "))
        .unwrap_or_default();
    if rest.is_empty() {
        out.headers.0.remove(pos);
    } else if let Some(h) = out.headers.0.get_mut(pos) {
        h.value = rest.into();
    }
    out
}
