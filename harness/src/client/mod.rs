//! Client cases: imspec plays the server and judges the client under test (issue 17).
//!
//! A client case is an ordinary scenario under `scenarios/clients/<protocol>/`, run by the
//! ordinary runner: its client actors (`client: leancloud`) are connections the client under
//! test opens to imspec's listeners (`connect: client` *accepts* the next one), and its
//! `driver` actor (`driver: driver`) is the driver process, spoken to in the driver protocol
//! (docs/driver-protocol.md, [`crate::proto::driver`]). Steps expect the client's requests as
//! pushes, answer them with `send:` (pairing by the request's own key: `i: "${open.i}"`,
//! `reply_to:`, `trid:`), push frames to the client and expect its replies, issue driver ops
//! and expect driver events.
//!
//! * [`host`]: the per-case connector (listeners on `127.0.0.1:0`, the driver process);
//! * [`run`](mod@run): runs cases with a driver command;
//! * [`leancloud`]: the sans-IO reference LeanCloud client; [`builtin`]: its I/O loop, the
//!   `imspec client-driver` behind `--driver builtin`; [`mutant`]: client mutants;
//! * [`selftest`]: client cases against the reference client and every client mutant;
//! * [`cli`]: `imspec client-test`.

pub mod builtin;
pub mod cli;
pub mod host;
pub mod leancloud;
pub mod mutant;
pub mod run;
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
