//! Raw bytes into the SIP-C decoder, strict and lenient: no panic, laws 1–2 on success, and
//! leniency changes nothing on strictly valid input (`imspec_fuzz::parse_laws`).
#![no_main]

use imspec_codec::testing::{Sipc, SipcLenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = imspec_fuzz::parse_laws::<Sipc, SipcLenient>(data) {
        panic!("{e}");
    }
});
