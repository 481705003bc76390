//! PUBLISH of `message-summary` state (RFC 3903, the event package of RFC 3842;
//! docs/protocols/sip.md §4.3, §8.7).
//!
//! * `PUBLISH` with `Event: message-summary` (else `489`) and a body
//!   (`application/simple-message-summary`, else `415`; unparsable `400`) creates state →
//!   `200 OK` + `SIP-ETag` + `Expires` (default [`PUBLISH_EXPIRES`]; RFC 3903 §4.1 leaves it to
//!   the package).
//! * `SIP-If-Match` refreshes (no body) or modifies (body) and gets a new ETag (RFC 3903 §6);
//!   an unknown ETag → `412 Conditional Request Failed`; `Expires: 0` removes.
//! * Subscribers are NOTIFYed as `mwi.rs` says: the published lines of classes other than
//!   `Text-Message` are passed on, and a publication saying `yes` makes the summary say yes.

use imspec_codec::sip::Message;
use imspec_codec::sip::message_summary;

use super::{Hub, PUBLISH_EXPIRES, Req};
use crate::{ConnId, Mutant};

pub(super) struct Publication {
    pub(super) user: String,
    pub(super) body: Vec<u8>,
    pub(super) expires_ms: u64,
}

impl Hub {
    pub(super) fn publish(&mut self, now_ms: u64, conn: ConnId, msg: &Message<'_>, req: &Req<'_>) {
        if self.event_ok(conn, msg).is_none() {
            return;
        }
        let Some(user) = self.user_of(conn, msg, req.uri.as_ref()) else {
            return;
        };
        let expires = match msg.expires() {
            None => PUBLISH_EXPIRES,
            Some(Ok(e)) => e,
            Some(Err(_)) => {
                self.bad_request(conn, msg, "bad Expires");
                return;
            }
        };
        let body = if msg.body.is_empty() {
            None
        } else {
            let ct_ok = msg.content_type().and_then(Result::ok).is_some_and(|ct| {
                ct.kind.eq_ignore_ascii_case("application")
                    && ct.subtype.eq_ignore_ascii_case("simple-message-summary")
            });
            if !ct_ok {
                let extra = [("Accept", "application/simple-message-summary".to_owned())];
                self.reply(conn, msg, 415, "Unsupported Media Type", None, &extra, None);
                return;
            }
            if message_summary::parse_with(&msg.body, &message_summary::Limits::lenient()).is_err()
            {
                self.bad_request(conn, msg, "bad message-summary body");
                return;
            }
            Some(msg.body.to_vec())
        };
        let old = match msg.header("SIP-If-Match") {
            Some(etag) => {
                let etag = etag.trim();
                let known = self
                    .publications
                    .get(etag)
                    .is_some_and(|p| p.user == user && p.expires_ms > now_ms);
                if known {
                    self.publications.remove(etag)
                } else if self.mutant(Mutant::SipPublishUnknownEtagOk) {
                    None
                } else {
                    self.reply(
                        conn,
                        msg,
                        412,
                        "Conditional Request Failed",
                        None,
                        &[],
                        None,
                    );
                    return;
                }
            }
            None if body.is_none() => {
                self.bad_request(conn, msg, "PUBLISH without body or SIP-If-Match");
                return;
            }
            None => None,
        };
        let Some(body) = body.or(old.map(|p| p.body)) else {
            // An unknown ETag accepted by the mutant, with nothing to keep.
            let extra = [
                ("SIP-ETag", self.rng.hex(8)),
                ("Expires", expires.to_string()),
            ];
            self.reply(conn, msg, 200, "OK", None, &extra, None);
            return;
        };
        if expires == 0 {
            self.reply(
                conn,
                msg,
                200,
                "OK",
                None,
                &[("Expires", "0".to_owned())],
                None,
            );
        } else {
            let etag = self.rng.hex(8);
            self.publications.insert(
                etag.clone(),
                Publication {
                    user: user.to_owned(),
                    body,
                    expires_ms: now_ms + u64::from(expires) * 1000,
                },
            );
            let extra = [("SIP-ETag", etag), ("Expires", expires.to_string())];
            self.reply(conn, msg, 200, "OK", None, &extra, None);
        }
        self.settle(now_ms, user);
    }
}
