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
//! * [`run`](mod@run): runs cases with a driver command.
//!
//! The reference clients behind `--driver builtin`, their mutants and the `imspec client-test`
//! command live in the `imspec` binary's crate.

pub mod host;
pub mod run;
