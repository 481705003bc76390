//! Raw bytes into the SIP-C decoder, strict and lenient: no panic, and laws 1–2 on success.
#![no_main]

use imspec_codec::testing::{self, Sipc, SipcLenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = testing::fixpoint::<Sipc>(data) {
        panic!("{e}");
    }
    if let Err(e) = testing::fixpoint::<SipcLenient>(data) {
        panic!("{e}");
    }
});
