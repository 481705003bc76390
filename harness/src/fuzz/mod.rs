//! Fuzzing: the bodies of the harness-side fuzz targets ([`targets`], [`hub`]) and the network
//! fuzzer behind `imspec fuzz` ([`net`], which mutates messages with [`mutate`] and writes
//! findings with [`repro`]).
pub mod hub;
pub mod mutate;
pub mod net;
pub mod repro;
pub mod targets;

pub use net::{Finding, Kind, Options, Report, fuzz};
