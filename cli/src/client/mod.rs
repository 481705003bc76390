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

/// The driver-protocol answer to the op with `id` (none for work no op asked for).
fn answer(id: Option<Value>, outcome: Result<(), String>) -> Option<Value> {
    let id = id?;
    Some(match outcome {
        Ok(()) => json!({"ok": true, "id": id}),
        Err(e) => json!({"ok": false, "id": id, "error": e}),
    })
}
