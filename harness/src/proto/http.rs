//! The view an `http:` step's response gives the checks (scenarios/README.md §3.9): the HTTP
//! exchange itself is the gateway transport's ([`crate::transport::gateway::exchange`]); this
//! module turns its response into a [`Frame`] with the fields the matchers read.

use crate::transport::gateway::{HttpResponse, commands, spelling};

use super::Frame;

/// The frame an `http:` step's response becomes (scenarios/README.md §3.9): `status`,
/// `headers.<Name>` (every value; names in their documented spelling, e.g. `X-MSN-Messenger`,
/// `Content-Type`, else Title-Case), `messenger.<key>` (from `X-MSN-Messenger`), `body`,
/// `size` (body bytes), `commands` (whole MSNP commands at the start of the body), `verbs`
/// (their verbs), `rest` (bytes after the last whole command) and `refused` (`true` when
/// the status is not 2xx or `X-MSN-Messenger` says `Session=close`).
pub fn response_frame(r: &HttpResponse) -> Frame {
    let mut fields: Vec<(String, String)> = vec![("status".into(), r.status.to_string())];
    for (n, v) in &r.headers {
        fields.push((format!("headers.{}", spelling(n)), v.clone()));
    }
    let messenger = r.messenger();
    let close = messenger
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("Session") && v.eq_ignore_ascii_case("close"));
    for (k, v) in messenger {
        fields.push((format!("messenger.{k}"), v));
    }
    let (verbs, rest) = commands(&r.body);
    fields.push(("commands".into(), verbs.len().to_string()));
    for v in verbs {
        fields.push(("verbs".into(), v));
    }
    fields.push(("rest".into(), rest.to_string()));
    let refused = !(200..300).contains(&r.status) || close;
    fields.push(("refused".into(), refused.to_string()));
    fields.push(("body".into(), String::from_utf8_lossy(&r.body).into_owned()));
    fields.push(("size".into(), r.body.len().to_string()));
    let sid = r
        .header("X-MSN-Messenger")
        .map(|m| format!(", {m}"))
        .unwrap_or_default();
    let mut f = Frame::of(&r.body);
    for (n, v) in fields {
        f.push_named(&n, v);
    }
    f.set_body(&r.body, &r.body);
    f.set_summary(format!("HTTP {} ({} bytes{sid})", r.status, r.body.len()));
    f
}

/// Whether `name` is a field of [`response_frame`].
pub fn known_field(name: &str) -> bool {
    super::field_in(FIELDS, name)
}

/// The fields of the HTTP response view; a name ending in `.` is a prefix (`headers.NAME`).
pub const FIELDS: &[&str] = &[
    "status",
    "body",
    "size",
    "commands",
    "verbs",
    "rest",
    "refused",
    "headers.",
    "messenger.",
];
