//! Fuzzing: the bodies of the harness-side fuzz targets ([`targets`], [`hub`]) and the network
//! fuzzer behind `imspec fuzz`.
pub mod hub;
pub mod mutate;
pub mod targets;
