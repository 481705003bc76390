//! The client side of `imspec client-test`: sans-IO reference clients ([`leancloud`], [`sip`]),
//! [`builtin`] (their I/O loops, the `imspec client-driver` behind `--driver builtin`), client
//! [`mutant`]s, [`selftest`] (client cases against the reference clients and every mutant) and
//! [`cli`] (`imspec client-test`). The case runner itself is `imspec_harness::client`.

pub mod builtin;
pub mod cli;
pub mod leancloud;
pub mod mutant;
pub mod selftest;
pub mod sip;

pub use mutant::Mutant;

use serde_json::{Value, json};

/// The driver-protocol answer to the op with `id` (none for work no op asked for).
fn answer(id: Option<Value>, outcome: Result<(), String>) -> Option<Value> {
    let id = id?;
    Some(match outcome {
        Ok(()) => json!({"ok": true, "id": id}),
        Err(e) => json!({"ok": false, "id": id, "error": e}),
    })
}
