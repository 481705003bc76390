//! The client side of `imspec client-test`: sans-IO reference clients ([`leancloud`], [`sip`],
//! [`fetion`], [`msnp`]),
//! [`builtin`] (their I/O loops, the `imspec client-driver` behind `--driver builtin`), client
//! [`mutant`]s, [`selftest`] (client cases against the reference clients and every mutant) and
//! [`cli`] (`imspec client-test`). The case runner itself is `imspec_harness::client`.

pub mod builtin;
pub mod cli;
pub mod fetion;
pub mod leancloud;
pub mod msnp;
pub mod mutant;
pub mod selftest;
pub mod sip;

pub use mutant::Mutant;

use std::time::Instant;

use serde_json::{Value, json};

/// What a stream client's I/O loop must do next (the SIP and Fetion reference clients: one TCP
/// connection each).
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Open the TCP connection to the service, then call [`Peer::connected`] with its local
    /// address.
    Connect,
    /// Write these bytes.
    Send(Vec<u8>),
    /// Write this line to the driver's stdout.
    Line(Value),
    /// Close the connection.
    Disconnect,
}

/// A sans-IO reference client over one TCP connection, as [`builtin`]'s loop drives it.
pub trait Peer {
    /// A parsed message from the server.
    type Msg<'a>;
    /// Decodes one message from the start of `buf` (the protocol's codec).
    fn parse(buf: &[u8]) -> imspec_codec::Result<(Self::Msg<'_>, usize)>;
    /// The next thing to do.
    fn poll(&mut self) -> Option<Output>;
    /// When [`timeout`](Self::timeout) wants to run next.
    fn next_timeout(&self) -> Option<Instant> {
        None
    }
    /// The connection is open; `local` is its own address.
    fn connected(&mut self, local: &str);
    /// The connection could not be opened.
    fn connect_failed(&mut self, why: &str);
    /// The connection ended.
    fn closed(&mut self);
    /// A driver op.
    fn op(&mut self, op: &Value, now: Instant);
    /// A message from the server.
    fn message(&mut self, msg: &Self::Msg<'_>, now: Instant);
    /// The clock reached [`next_timeout`](Self::next_timeout).
    fn timeout(&mut self, _now: Instant) {}
}

/// A driver op as the reference clients read it (`docs/driver-protocol.md`): decoded once
/// here, so every client accepts the same ops with the same fields and refuses them with the
/// same words.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `ping`: answered at once.
    Ping,
    /// `login`: `user`, optional `password` (empty if absent) and `appId` (LeanCloud).
    Login {
        /// The account.
        user: String,
        /// Its password.
        password: String,
        /// LeanCloud's application id, if given.
        app_id: Option<String>,
    },
    /// `send`: `text` to `to` (a user or a conversation id).
    Send {
        /// The recipient.
        to: String,
        /// The message text.
        text: String,
    },
    /// `history` (MSNP): page the conversation `conv` until the server says there is no more.
    History {
        /// The conversation.
        conv: String,
    },
    /// `logout`.
    Logout,
}

impl Op {
    /// The op's `id` (to answer with) and the op, or why it is refused.
    pub fn decode(op: &Value) -> (Option<Value>, Result<Self, String>) {
        let id = op.get("id").cloned();
        let text = |k: &str| op.get(k).and_then(Value::as_str).map(str::to_owned);
        let op = match op.get("op").and_then(Value::as_str).unwrap_or("") {
            "ping" => Ok(Self::Ping),
            "login" => text("user")
                .map(|user| Self::Login {
                    user,
                    password: text("password").unwrap_or_default(),
                    app_id: text("appId"),
                })
                .ok_or_else(|| "login needs `user`".to_owned()),
            "send" => match (text("to"), text("text")) {
                (Some(to), Some(text)) => Ok(Self::Send { to, text }),
                _ => Err("send needs `to` and `text`".to_owned()),
            },
            "history" => text("conv")
                .map(|conv| Self::History { conv })
                .ok_or_else(|| "history needs `conv`".to_owned()),
            "logout" => Ok(Self::Logout),
            other => Err(format!("unknown op `{other}`")),
        };
        (id, op)
    }

    /// The refusal of a client that does not take this op.
    pub fn unsupported(&self) -> String {
        let name = match self {
            Self::Ping => "ping",
            Self::Login { .. } => "login",
            Self::Send { .. } => "send",
            Self::History { .. } => "history",
            Self::Logout => "logout",
        };
        format!("unknown op `{name}`")
    }
}

/// The driver-protocol answer to the op with `id` (none for work no op asked for).
fn answer(id: Option<Value>, outcome: Result<(), String>) -> Option<Value> {
    let id = id?;
    Some(match outcome {
        Ok(()) => json!({"ok": true, "id": id}),
        Err(e) => json!({"ok": false, "id": id, "error": e}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_ops_decode_once_with_their_fields_or_the_words_of_the_refusal() {
        let op = |v: Value| Op::decode(&v);
        assert_eq!(
            op(json!({"op": "login", "user": "alice", "appId": "app", "id": 7})),
            (
                Some(json!(7)),
                Ok(Op::Login {
                    user: "alice".into(),
                    password: String::new(),
                    app_id: Some("app".into()),
                })
            )
        );
        assert_eq!(
            op(json!({"op": "send", "to": "bob", "text": "hi"})),
            (
                None,
                Ok(Op::Send {
                    to: "bob".into(),
                    text: "hi".into()
                })
            )
        );
        let refused = |v: Value| op(v).1.unwrap_err();
        assert_eq!(refused(json!({"op": "login"})), "login needs `user`");
        assert_eq!(
            refused(json!({"op": "send", "to": "bob"})),
            "send needs `to` and `text`"
        );
        assert_eq!(refused(json!({"op": "history"})), "history needs `conv`");
        assert_eq!(refused(json!({"op": "dance"})), "unknown op `dance`");
        assert_eq!(refused(json!({"id": 1})), "unknown op ``");
        let history = op(json!({"op": "history", "conv": "c"})).1.unwrap();
        assert_eq!(history.unsupported(), "unknown op `history`");
    }
}
