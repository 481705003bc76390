//! Programs of connects, SIP requests and answers, MSRP chunks, raw bytes, closes and clock
//! steps into the SIP hub: no panic, outputs decode, every request gets exactly one reply,
//! message-summary bodies are consistent. Body: `imspec_server::fuzz::sip`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = imspec_server::fuzz::sip::run(data) {
        panic!("{e}");
    }
});
