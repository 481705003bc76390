//! imspec: a conformance test suite, reference server and fuzzer for instant-messaging
//! protocols, five families: MSNP 21–24 (sync, and the HTTP gateway `gateway.dll`), LeanCloud
//! realtime (LeanMessage over WebSocket), SIP offline message storage (store-and-forward,
//! MWI), MSRP (RFC 4975) and Fetion SIP-C/2.0.
//!
//! * [`scenario`] loads YAML scenario scripts (the only module that touches YAML);
//! * [`runner`] replays a scenario against a target over a [`transport`] and returns plain data;
//! * [`report`] renders results (console, JSON, JUnit);
//! * [`load`] runs one scenario as a load (rate, concurrency, latency percentiles);
//! * [`proto`] adapts each codec to the runner (structural frames, pairing, matching);
//! * [`server`] is the reference server: sans-IO protocol state machines and one tokio driver.
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod fuzz;
pub mod load;
pub mod proto;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod selftest;
pub mod server;
pub mod transport;
