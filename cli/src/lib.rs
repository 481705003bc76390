//! The `imspec` command line's library half: what the binary does beyond parsing arguments, kept
//! here so that its integration tests can call it.
//!
//! * [`selftest`]: every scenario against the reference server, clean and with each mutant;
//! * [`fuzz`]: the network fuzzer behind `imspec fuzz`, and the table of the harness-side fuzz
//!   target bodies;
//! * [`client`]: the reference clients behind `imspec client-test --driver builtin`, their
//!   mutants, and `imspec client-test` itself;
//! * [`serve`]: `imspec serve`.
#![forbid(unsafe_code)]

pub mod client;
pub mod fuzz;
pub mod selftest;
pub mod serve;
