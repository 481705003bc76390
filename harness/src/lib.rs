//! imspec: a conformance test suite, reference server and fuzzer for instant-messaging
//! protocols (Fetion SIP-C, MSNP 21–24).
//!
//! * [`scenario`] loads YAML scenario scripts (the only module that touches YAML);
//! * [`runner`] replays a scenario against a target over a [`transport`] and returns plain data;
//! * [`report`] renders results (console, JSON, JUnit);
//! * [`proto`] adapts each codec to the runner (structural frames, pairing, matching);
//! * [`server`] is the reference server: sans-IO protocol state machines and one tokio driver.
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod fuzz;
pub mod proto;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod selftest;
pub mod server;
pub mod transport;
