//! Raw bytes into the MSNP command decoder, strict and lenient: no panic, laws 1–2 on
//! success, and leniency changes nothing on strictly valid input (`imspec_fuzz::parse_laws`).
#![no_main]

use imspec_codec::testing::{Msnp, MsnpLenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = imspec_fuzz::parse_laws::<Msnp, MsnpLenient>(data) {
        panic!("{e}");
    }
});
