//! Programs of connects, frames, raw bytes, closes and clock steps into the MSNP hub:
//! no panic, outputs decode, every request gets exactly one reply. Body:
//! `imspec_server::fuzz::msnp` (`imspec_server::fuzz` describes the program format).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = imspec_server::fuzz::msnp::run(data) {
        panic!("{e}");
    }
});
