//! Law 1 for generated layered payloads (MSNP21 and MSNP24 forms): `encoded_len` is the
//! encoding's length and the encoding decodes to the same value.
#![no_main]

use imspec_codec::msnp::payload::Layered;
use imspec_fuzz::Repro;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|l: Repro<Layered<'static>>| {
    let bytes = l.0.to_bytes();
    assert_eq!(l.0.encoded_len(), bytes.len(), "encoded_len");
    match Layered::parse(&bytes) {
        Ok(back) if back == l.0 => {}
        other => panic!("re-parse differs: {other:?}"),
    }
});
