//! imspec-harness: the imspec conformance harness as a library — load scenario scripts, replay
//! them against an implementation of an instant-messaging protocol, and report a verdict per
//! case. Five protocol families: MSNP 21–24 (sync, and the HTTP gateway `gateway.dll`),
//! LeanCloud realtime (LeanMessage over WebSocket), SIP offline message storage
//! (store-and-forward, MWI), MSRP (RFC 4975) and Fetion SIP-C/2.0.
//!
//! # Testing your server from `cargo test`
//!
//! [`Suite`] is `imspec run` as a library call: start your server on port 0, point the suite
//! at it, and assert on the [`CaseResult`](runner::CaseResult)s — the same results the
//! command line prints and its JSON report holds.
//!
//! ```no_run
//! use imspec_harness::Suite;
//! use imspec_harness::report::human;
//!
//! # async fn start_my_server() -> std::net::SocketAddr { unimplemented!() }
//! #[tokio::test]
//! async fn my_server_conforms() {
//!     let addr = start_my_server().await; // listening on 127.0.0.1:0
//!     let results = Suite::from_dir("scenarios/msnp")
//!         .unwrap()
//!         .target("msnp", addr) // cases needing another service are skipped
//!         .run()
//!         .await
//!         .unwrap();
//!     for r in &results {
//!         // `failure_text` is the console's failure block: rule, step, expected, actual.
//!         assert!(!r.verdict.fails_run(), "{}", human::failure_text(r, false));
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! [`Suite`] takes what `imspec run` takes — paths, `only`/`skip` globs, a partition, a
//! [`Profile`](runner::Profile) (accounts, capabilities, params, fragment replacements,
//! baseline), `jobs`, `repeat`, `var`s, extra fragment folders — and [`Suite::plan`] checks
//! it all before any connection. `harness/tests/suite_api.rs` in the imspec repository is a
//! complete example: a small MSNP server written in the test passes the built-in PNG case,
//! and a copy of it with a wrong TrID fails that case with the rule named.
//!
//! # Modules
//!
//! * [`suite`] runs a whole suite: selection, targets, results ([`Suite`], [`suite::Plan`]);
//! * [`scenario`] loads YAML scenario scripts (the only module that touches YAML);
//! * [`runner`] replays a scenario against a target over a [`transport`] and returns plain data;
//! * [`report`] renders results (console, JSON, JUnit, HTML, pcapng);
//! * [`load`] runs one scenario as a load (rate, concurrency, latency percentiles);
//! * [`proto`] adapts each codec to the runner (structural frames, pairing, matching);
//! * [`client`] runs client cases: imspec plays the server, a driver process plays the client.
//!
//! The reference server is the separate crate `imspec-server`; the `imspec` binary wires the
//! two together (its embedded server is what `imspec run` tests without a target).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod load;
pub mod proto;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod suite;
pub mod transport;

pub use suite::Suite;
