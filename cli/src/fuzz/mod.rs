//! Fuzzing from the command line: the network fuzzer behind `imspec fuzz` ([`net`], which mutates
//! messages with [`mutate`] and writes findings with [`repro`]), and [`targets`], the table of the
//! harness-side fuzz target bodies (`imspec_server::fuzz`, `imspec_harness::scenario::fuzz`) by
//! name.
pub mod frames;
pub mod mutate;
pub mod net;
pub mod repro;
pub mod targets;

pub use net::{Finding, Kind, Options, Report, fuzz};
