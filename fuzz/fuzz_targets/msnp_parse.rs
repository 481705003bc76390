//! Raw bytes into the MSNP command decoder, strict and lenient: no panic, and laws 1–2 on success.
#![no_main]

use imspec_codec::testing::{self, Msnp, MsnpLenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = testing::fixpoint::<Msnp>(data) {
        panic!("{e}");
    }
    if let Err(e) = testing::fixpoint::<MsnpLenient>(data) {
        panic!("{e}");
    }
});
