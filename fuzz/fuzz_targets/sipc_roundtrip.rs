//! Law 1 for generated SIP-C messages: every valid `sipc::Message` encodes to bytes that decode
//! to it, strictly and leniently, and sampled proper prefixes of those bytes are incomplete.
#![no_main]

use imspec_codec::sipc::Message;
use imspec_codec::testing::{self, Sipc, SipcLenient};
use imspec_fuzz::Repro;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|m: Repro<Message<'static>>| {
    if let Err(e) = testing::value_round_trip::<Sipc>(&m.0) {
        panic!("{e}");
    }
    if let Err(e) = testing::value_round_trip::<SipcLenient>(&m.0) {
        panic!("{e}");
    }
    if let Err(e) = imspec_fuzz::prefixes_incomplete::<Sipc>(&m.0.to_bytes()) {
        panic!("{e}");
    }
});
