//! imspec-harness: the imspec conformance harness as a library — load scenario scripts, replay
//! them against an implementation of an instant-messaging protocol, and report a verdict per
//! case. Five protocol families: MSNP 21–24 (sync, and the HTTP gateway `gateway.dll`),
//! LeanCloud realtime (LeanMessage over WebSocket), SIP offline message storage
//! (store-and-forward, MWI), MSRP (RFC 4975) and Fetion SIP-C/2.0.
//!
//! * [`scenario`] loads YAML scenario scripts (the only module that touches YAML);
//! * [`runner`] replays a scenario against a target over a [`transport`] and returns plain data;
//! * [`report`] renders results (console, JSON, JUnit, HTML, pcapng);
//! * [`load`] runs one scenario as a load (rate, concurrency, latency percentiles);
//! * [`proto`] adapts each codec to the runner (structural frames, pairing, matching);
//! * [`client`] runs client cases: imspec plays the server, a driver process plays the client.
//!
//! The reference server is the separate crate `imspec-server`; the `imspec` binary wires the
//! two together.
#![forbid(unsafe_code)]

pub mod client;
pub mod load;
pub mod proto;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod transport;
