//! Law 1 for generated MSNP commands: every valid `msnp::Command` encodes to bytes that decode
//! to it, strictly and leniently, and sampled proper prefixes of those bytes are incomplete.
#![no_main]

use imspec_codec::msnp::Command;
use imspec_codec::testing::{self, Msnp, MsnpLenient};
use imspec_fuzz::Repro;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|c: Repro<Command<'static>>| {
    if let Err(e) = testing::value_round_trip::<Msnp>(&c.0) {
        panic!("{e}");
    }
    if let Err(e) = testing::value_round_trip::<MsnpLenient>(&c.0) {
        panic!("{e}");
    }
    if let Err(e) = imspec_fuzz::prefixes_incomplete::<Msnp>(&c.0.to_bytes()) {
        panic!("{e}");
    }
});
